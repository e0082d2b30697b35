// The entry of the ccxt bundle that scripts/build.ts embeds in the executable as a file (see
// src/exchanges/ccxt-catalog.ts): ccxt's CommonJS build, for evaluating only when a configured
// exchange needs it.
module.exports = require("ccxt");
