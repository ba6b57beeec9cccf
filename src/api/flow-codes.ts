/**
 * The stable codes of flow records (no dependencies: the CLI and pure filters use them
 * without loading the schema library). docs/flows.md explains each.
 */

/** Why a packet was dropped. */
export const DROP_REASONS = ['policy-denied', 'no-route', 'too-big', 'auth', 'replay', 'bad-frame', 'queue-full'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
/** What happened to a flow. */
export const VERDICTS = ['forwarded', 'dropped', 'audit'] as const;
export type Verdict = (typeof VERDICTS)[number];
/** How it crossed. */
export const FLOW_PATHS = ['local', 'sleeve', 'vxlan', 'hostgw', 'unknown'] as const;
export type FlowPath = (typeof FLOW_PATHS)[number];
/** Which event of a flow a record is. */
export const FLOW_EVENTS = ['new', 'end', 'drop'] as const;
export type FlowEvent = (typeof FLOW_EVENTS)[number];
