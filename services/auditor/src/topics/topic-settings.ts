import { auditTopicConfig, ensureTopics } from '@warden/runtime';
import type { Admin, ConfigResourceTypes } from 'kafkajs';
import { TopicSettingsError } from '../errors.js';

/**
 * kafkajs's ConfigResourceTypes.TOPIC (the Kafka protocol's resource type 2). kafkajs is CommonJS and Node's ESM
 * loader does not see that enum as a named export, so the value is written here.
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** One topic setting that would lose audit data. */
export interface TopicSettingProblem {
  readonly topic: string;
  readonly setting: string;
  readonly actual: string | undefined;
  readonly required: string;
}

/**
 * The settings of topics that would lose audit data (pure): anything but `cleanup.policy=delete` (compaction drops
 * superseded records), and any finite `retention.ms` or `retention.bytes`.
 */
export function topicSettingProblems(
  settings: ReadonlyMap<string, Readonly<Record<string, string | undefined>>>,
): TopicSettingProblem[] {
  const problems: TopicSettingProblem[] = [];
  for (const [topic, config] of settings) {
    for (const [setting, required] of Object.entries(auditTopicConfig)) {
      const actual = config[setting];
      if (actual !== required) problems.push({ topic, setting, actual, required });
    }
  }
  return problems;
}

/** Reads the named topics' configurations from the broker. */
export async function describeTopicSettings(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, Record<string, string | undefined>>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: TOPIC_RESOURCE,
      name,
      configNames: Object.keys(auditTopicConfig),
    })),
  });
  const out = new Map<string, Record<string, string | undefined>>();
  for (const r of described.resources) {
    const config: Record<string, string | undefined> = {};
    for (const entry of r.configEntries) config[entry.configName] = entry.configValue;
    out.set(r.resourceName, config);
  }
  return out;
}

/**
 * Creates missing audit topics with audit settings, then refuses (TopicSettingsError naming every topic and setting)
 * if any existing topic's settings would lose audit data.
 */
export async function ensureAuditTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  await ensureTopics(admin, topics);
  const problems = topicSettingProblems(await describeTopicSettings(admin, topics));
  if (problems.length > 0) {
    const lines = problems.map(
      (p) => `${p.topic}: ${p.setting}=${p.actual ?? '(unset)'} (required ${p.setting}=${p.required})`,
    );
    throw new TopicSettingsError(
      `refusing to run: these topic settings would lose audit data:\n  ${lines.join('\n  ')}\n` +
        'fix them with kafka-configs.sh --alter --entity-type topics --add-config cleanup.policy=delete,retention.ms=-1,retention.bytes=-1',
      { details: { problems } },
    );
  }
}
