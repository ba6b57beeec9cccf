/**
 * The one place src/ipam takes the mesh's shared binary codec and peer-name helpers from.
 * TODO(ipam): take Reader/Writer from '../mesh/index.js' once the mesh contract exports them
 * (they live in src/mesh/codec.ts, "shared by every wire format in weft").
 */
export { Reader, Writer } from '../mesh/codec.js';
export { isPeerName, parsePeerName } from '../mesh/index.js';
