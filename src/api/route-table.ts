/**
 * The method and path of every API route, by name: the one place they are written. This
 * module has no dependencies so the CNI plugins can name routes without loading the schema
 * library; `routes.ts` attaches each route's request and reply schema to these entries, and
 * the TypeScript types of requests and replies come from there (type-only imports).
 */
export const API_ROUTES = {
  status: { name: 'status', method: 'GET', path: '/status' },
  report: { name: 'report', method: 'GET', path: '/report' },
  stop: { name: 'stop', method: 'POST', path: '/stop' },
  connect: { name: 'connect', method: 'POST', path: '/connect' },
  forget: { name: 'forget', method: 'POST', path: '/forget' },
  ping: { name: 'ping', method: 'POST', path: '/ping' },
  reset: { name: 'reset', method: 'POST', path: '/reset' },
  secretRotate: { name: 'secretRotate', method: 'POST', path: '/secret/rotate' },
  metrics: { name: 'metrics', method: 'GET', path: '/metrics' },
  attach: { name: 'attach', method: 'POST', path: '/attach' },
  detach: { name: 'detach', method: 'POST', path: '/detach' },
  cni: { name: 'cni', method: 'POST', path: '/cni' },
  expose: { name: 'expose', method: 'POST', path: '/expose' },
  hide: { name: 'hide', method: 'POST', path: '/hide' },
  endpoints: { name: 'endpoints', method: 'GET', path: '/endpoints' },
  network: { name: 'network', method: 'GET', path: '/network' },
  ipamAllocate: { name: 'ipamAllocate', method: 'POST', path: '/ipam/allocate' },
  ipamRelease: { name: 'ipamRelease', method: 'POST', path: '/ipam/release' },
  ipamLookup: { name: 'ipamLookup', method: 'GET', path: '/ipam/lookup' },
  ipamGc: { name: 'ipamGc', method: 'POST', path: '/ipam/gc' },
  ipamAllocations: { name: 'ipamAllocations', method: 'GET', path: '/ipam/allocations' },
  ipamStatus: { name: 'ipamStatus', method: 'GET', path: '/ipam/status' },
  ipamRmpeer: { name: 'ipamRmpeer', method: 'POST', path: '/ipam/rmpeer' },
  label: { name: 'label', method: 'POST', path: '/label' },
  policyApply: { name: 'policyApply', method: 'POST', path: '/policy/apply' },
  policyDelete: { name: 'policyDelete', method: 'POST', path: '/policy/delete' },
  policyList: { name: 'policyList', method: 'GET', path: '/policy/list' },
  policyExplain: { name: 'policyExplain', method: 'POST', path: '/policy/explain' },
  dnsAdd: { name: 'dnsAdd', method: 'POST', path: '/dns/add' },
  dnsRemove: { name: 'dnsRemove', method: 'POST', path: '/dns/remove' },
  dnsLookup: { name: 'dnsLookup', method: 'GET', path: '/dns/lookup' },
  dnsArgs: { name: 'dnsArgs', method: 'GET', path: '/dns/args' },
} as const;

/** Name of an API route (a key of API_ROUTES). */
export type RouteName = keyof typeof API_ROUTES;
/** One route's name, method and path (what a client needs to call it). */
export type RouteRef<K extends RouteName = RouteName> = (typeof API_ROUTES)[K];
