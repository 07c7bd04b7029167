/**
 * @warden/calibration: confidence calibration as pure functions. Labelled points from a task's events
 * (calibrationFactOf, labelPoints), maps fitted by isotonic regression or Platt scaling chosen by cross-validation
 * (fitCalibration), ECE / Brier / log loss and Wilson intervals, threshold tables and recommendations, a whole run
 * (runCalibration) with the calibration document it would publish, a reliability diagram (SVG) and an HTML report,
 * and the deterministic review sample of auto-approved actions (inReviewSample). ADR 0025.
 */
export {
  CALIBRATION_REVIEW_CODE,
  LabelSources,
  calibrationFactOf,
  TaskPoints,
  labelPoints,
  taskFactsOf,
  type CalibrationFact,
  type LabelEvidence,
  type LabelSource,
  type LabelledPoint,
  type PointVerdict,
  type TaskFact,
} from './points.js';
export {
  DEFAULT_FIT_SETTINGS,
  IDENTITY_POINTS,
  applyMap,
  crossValidated,
  fitCalibration,
  fitIsotonic,
  fitPlatt,
  plattMap,
  type FitMethod,
  type FitResult,
  type FitSettings,
  type FittedMap,
  type Observation,
} from './fit.js';
export {
  LOG_LOSS_EPSILON,
  Z_95,
  brierScore,
  expectedCalibrationError,
  logLoss,
  metricsOf,
  reliabilityBins,
  wilson,
  type CalibrationMetrics,
  type Proportion,
  type ReliabilityBin,
  type Scored,
} from './metrics.js';
export {
  DEFAULT_RECOMMEND_SETTINGS,
  candidateThresholds,
  recommendThreshold,
  thresholdTable,
  type CalibratedPoint,
  type Recommendation,
  type RecommendSettings,
  type ThresholdRow,
  type ThresholdTarget,
} from './thresholds.js';
export {
  DEFAULT_MIN_POINTS_PER_SCOPE,
  runCalibration,
  scopeLabel,
  type CalibrationOptions,
  type CalibrationRun,
  type CurrentCalibration,
  type Scope,
  type ScopeResult,
  type TierResult,
} from './run.js';
export { DEFAULT_DIAGRAM_SIZE, escapeXml, reliabilityDiagramSvg, type DiagramOptions } from './svg.js';
export { reportHtml } from './html.js';
export { GUARD_CALIBRATION_KEY, calibrationTopic, calibrationTopicConfig, inReviewSample } from './sample.js';
