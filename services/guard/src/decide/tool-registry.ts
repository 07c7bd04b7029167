import { ToolDefinitionError } from './errors.js';
import { parseArgPath } from './paths.js';
import { ResourceKindNames, type ToolRegistry, type ToolSpec } from './types.js';

/**
 * Checks a tool definition (name, resource and critical-field paths) and returns it unchanged. Throws a
 * ToolDefinitionError on a malformed path: a path that never resolves would silently check nothing.
 */
export function defineTool<T extends ToolSpec>(spec: T): T {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/.test(spec.name)) {
    throw new ToolDefinitionError(`tool name ${JSON.stringify(spec.name)} is not an identifier`);
  }
  for (const [kind, paths] of Object.entries(spec.resources)) {
    if (!(ResourceKindNames as readonly string[]).includes(kind)) {
      throw new ToolDefinitionError(`tool ${spec.name}: unknown resource kind ${JSON.stringify(kind)}`);
    }
    for (const path of paths ?? []) {
      if (parseArgPath(path) === null) {
        throw new ToolDefinitionError(
          `tool ${spec.name}: resources.${kind} has a malformed arg path ${JSON.stringify(path)}`,
        );
      }
    }
  }
  for (const path of spec.criticalFields) {
    if (parseArgPath(path) === null) {
      throw new ToolDefinitionError(
        `tool ${spec.name}: criticalFields has a malformed arg path ${JSON.stringify(path)}`,
      );
    }
  }
  return spec;
}

/** A registry of tools by name; throws a ToolDefinitionError on a duplicate name. */
export function createToolRegistry(tools: readonly ToolSpec[]): ToolRegistry {
  const registry = new Map<string, ToolSpec>();
  for (const tool of tools) {
    defineTool(tool);
    if (registry.has(tool.name)) throw new ToolDefinitionError(`tool ${tool.name} is defined twice`);
    registry.set(tool.name, tool);
  }
  return registry;
}
