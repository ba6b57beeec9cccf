/** The one place src/ipam takes the shared binary codec and peer-name helpers from. */
export { Reader, Writer, isPeerName, parsePeerName } from '../net/index.js';
