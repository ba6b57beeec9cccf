/** The one place src/ipam takes the mesh's shared binary codec and peer-name helpers from. */
export { Reader, Writer } from '../mesh/index.js';
export { isPeerName, parsePeerName } from '../mesh/index.js';
