/**
 * Named TypeScript views of the API's JSON shapes. Every one is derived from the route
 * schemas (routes.ts, status-schema.ts): nothing here is declared twice. Type-only, so
 * importing it costs nothing at run time.
 */
import type { ReplyOf, RequestOf } from './routes.js';

export type {
  StatusReport, StatusPeer, StatusConnection, StatusTarget, IpamStatusSection, DataplaneStatus, PolicyStatus, DnsStatus,
} from './status-schema.js';

/** Body of every error response: `{ "error": { "code", "message" } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** Readiness as reported by the daemon for `/readyz`. */
export interface Readiness {
  ready: boolean;
  /** Why not ready (one line), when `ready` is false. */
  reason?: string;
}

export type ConnectRequest = RequestOf<'connect'>;
export type ForgetRequest = RequestOf<'forget'>;
export type AllocateRequest = RequestOf<'ipamAllocate'>;
export type AllocateReply = ReplyOf<'ipamAllocate'>;
export type ReleaseRequest = RequestOf<'ipamRelease'>;
export type ReleaseReply = ReplyOf<'ipamRelease'>;
export type GcRequest = RequestOf<'ipamGc'>;
export type GcReply = ReplyOf<'ipamGc'>;
/** `GET /network`: what a plugin needs to plumb a pod onto this host's overlay. */
export type NetworkInfo = ReplyOf<'network'>;
export type AttachReply = ReplyOf<'attach'>;
export type ListedEndpoint = ReplyOf<'endpoints'>['endpoints'][number];
export type AttachRequest = RequestOf<'attach'>;
export type PodIdentityView = ReplyOf<'label'>;
export type PolicyListReply = ReplyOf<'policyList'>;
