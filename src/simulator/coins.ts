/**
 * The simulated CoinGecko universe: roughly the top 100 coins by market cap, plus two entries with
 * no rank (as CoinGecko has): SafeMoon, which no exchange lists, and a bridged DOGE whose symbol
 * collides with Dogecoin's (CoinGecko symbols are not unique).
 */
export interface SimCoin {
  /** CoinGecko id: `bitcoin`, `safemoon-2`. */
  id: string;
  /** CoinGecko symbol, lowercase: `btc`. Not unique. */
  symbol: string;
  name: string;
  /** USD; 0 for unranked coins. */
  marketCap: number;
  /** 1-based market-cap rank, or null (CoinGecko leaves some unranked). */
  rank: number | null;
  /** A typical USD price: the level the simulated price path wanders around. */
  priceUsd: number;
}

// [id, symbol, name, market cap in USD, typical price in USD], in market-cap order.
const RANKED: readonly (readonly [string, string, string, number, number])[] = [
  ["bitcoin", "btc", "Bitcoin", 1_331_200_000_000, 67_500],
  ["ethereum", "eth", "Ethereum", 420_500_000_000, 3_500],
  ["tether", "usdt", "Tether", 112_300_000_000, 1],
  ["binancecoin", "bnb", "BNB", 88_400_000_000, 600],
  ["solana", "sol", "Solana", 74_200_000_000, 160],
  ["usd-coin", "usdc", "USDC", 32_600_000_000, 1],
  ["ripple", "xrp", "XRP", 29_100_000_000, 0.52],
  ["staked-ether", "steth", "Lido Staked Ether", 28_700_000_000, 3_500],
  ["dogecoin", "doge", "Dogecoin", 23_300_000_000, 0.16],
  ["the-open-network", "ton", "Toncoin", 17_600_000_000, 7.2],
  ["cardano", "ada", "Cardano", 16_000_000_000, 0.45],
  ["avalanche-2", "avax", "Avalanche", 13_700_000_000, 35],
  ["shiba-inu", "shib", "Shiba Inu", 13_600_000_000, 0.000025],
  ["tron", "trx", "TRON", 10_500_000_000, 0.12],
  ["wrapped-bitcoin", "wbtc", "Wrapped Bitcoin", 10_300_000_000, 67_500],
  ["polkadot", "dot", "Polkadot", 9_900_000_000, 7],
  ["chainlink", "link", "Chainlink", 9_100_000_000, 15],
  ["bitcoin-cash", "bch", "Bitcoin Cash", 8_800_000_000, 450],
  ["near", "near", "NEAR Protocol", 7_000_000_000, 6],
  ["uniswap", "uni", "Uniswap", 6_100_000_000, 8],
  ["litecoin", "ltc", "Litecoin", 6_000_000_000, 80],
  ["leo-token", "leo", "LEO Token", 5_500_000_000, 6],
  ["internet-computer", "icp", "Internet Computer", 5_400_000_000, 12],
  ["dai", "dai", "Dai", 5_300_000_000, 1],
  ["sui", "sui", "Sui", 5_000_000_000, 1.1],
  ["pepe", "pepe", "Pepe", 4_900_000_000, 0.000012],
  ["aptos", "apt", "Aptos", 4_000_000_000, 9],
  ["ethereum-classic", "etc", "Ethereum Classic", 3_900_000_000, 28],
  ["kaspa", "kas", "Kaspa", 3_600_000_000, 0.15],
  ["hyperliquid", "hype", "Hyperliquid", 3_500_000_000, 20],
  ["monero", "xmr", "Monero", 3_000_000_000, 160],
  ["render-token", "render", "Render", 2_900_000_000, 7],
  ["stellar", "xlm", "Stellar", 2_850_000_000, 0.1],
  ["ethena-usde", "usde", "Ethena USDe", 2_800_000_000, 1],
  ["crypto-com-chain", "cro", "Cronos", 2_700_000_000, 0.1],
  ["hedera-hashgraph", "hbar", "Hedera", 2_650_000_000, 0.08],
  ["bittensor", "tao", "Bittensor", 2_600_000_000, 400],
  ["okb", "okb", "OKB", 2_550_000_000, 45],
  ["arbitrum", "arb", "Arbitrum", 2_500_000_000, 1],
  ["filecoin", "fil", "Filecoin", 2_450_000_000, 5],
  ["cosmos", "atom", "Cosmos Hub", 2_400_000_000, 8],
  ["mantle", "mnt", "Mantle", 2_350_000_000, 0.9],
  ["stacks", "stx", "Stacks", 2_300_000_000, 2],
  ["immutable-x", "imx", "Immutable", 2_250_000_000, 2],
  ["fetch-ai", "fet", "Artificial Superintelligence Alliance", 2_200_000_000, 1.5],
  ["vechain", "vet", "VeChain", 2_150_000_000, 0.03],
  ["polygon-ecosystem-token", "pol", "POL (ex-MATIC)", 2_100_000_000, 0.7],
  ["first-digital-usd", "fdusd", "First Digital USD", 2_050_000_000, 1],
  ["injective-protocol", "inj", "Injective", 2_000_000_000, 25],
  ["optimism", "op", "Optimism", 1_950_000_000, 2.41],
  ["the-graph", "grt", "The Graph", 1_900_000_000, 0.25],
  ["bonk", "bonk", "Bonk", 1_850_000_000, 0.00003],
  ["celestia", "tia", "Celestia", 1_800_000_000, 8],
  ["dogwifcoin", "wif", "dogwifhat", 1_750_000_000, 2.5],
  ["maker", "mkr", "Maker", 1_700_000_000, 2_800],
  ["theta-token", "theta", "Theta Network", 1_650_000_000, 1.8],
  ["sei-network", "sei", "Sei", 1_600_000_000, 0.5],
  ["ondo-finance", "ondo", "Ondo", 1_550_000_000, 1],
  ["arweave", "ar", "Arweave", 1_500_000_000, 30],
  ["lido-dao", "ldo", "Lido DAO", 1_450_000_000, 2],
  ["floki", "floki", "FLOKI", 1_400_000_000, 0.0002],
  ["algorand", "algo", "Algorand", 1_350_000_000, 0.18],
  ["worldcoin-wld", "wld", "Worldcoin", 1_300_000_000, 3],
  ["jupiter-exchange-solana", "jup", "Jupiter", 1_250_000_000, 1],
  ["quant-network", "qnt", "Quant", 1_200_000_000, 90],
  ["flow", "flow", "Flow", 1_150_000_000, 0.8],
  ["bitcoin-cash-sv", "bsv", "Bitcoin SV", 1_100_000_000, 60],
  ["gala", "gala", "GALA", 1_050_000_000, 0.04],
  ["elrond-erd-2", "egld", "MultiversX", 1_000_000_000, 35],
  ["the-sandbox", "sand", "The Sandbox", 980_000_000, 0.45],
  ["pyth-network", "pyth", "Pyth Network", 960_000_000, 0.4],
  ["kucoin-shares", "kcs", "KuCoin", 940_000_000, 10],
  ["neo", "neo", "Neo", 920_000_000, 15],
  ["tezos", "xtz", "Tezos", 900_000_000, 0.9],
  ["eos", "eos", "EOS", 880_000_000, 0.8],
  ["axie-infinity", "axs", "Axie Infinity", 860_000_000, 7],
  ["decentraland", "mana", "Decentraland", 840_000_000, 0.45],
  ["helium", "hnt", "Helium", 820_000_000, 5],
  ["iota", "iota", "IOTA", 800_000_000, 0.2],
  ["chiliz", "chz", "Chiliz", 780_000_000, 0.1],
  ["apecoin", "ape", "ApeCoin", 760_000_000, 1.2],
  ["ecash", "xec", "eCash", 740_000_000, 0.00004],
  ["curve-dao-token", "crv", "Curve DAO", 720_000_000, 0.4],
  ["pancakeswap-token", "cake", "PancakeSwap", 700_000_000, 2.5],
  ["zcash", "zec", "Zcash", 680_000_000, 25],
  ["kava", "kava", "Kava", 660_000_000, 0.6],
  ["mina-protocol", "mina", "Mina Protocol", 640_000_000, 0.8],
  ["conflux-token", "cfx", "Conflux", 620_000_000, 0.18],
  ["gnosis", "gno", "Gnosis", 600_000_000, 300],
  ["1inch", "1inch", "1inch", 580_000_000, 0.4],
  ["compound-governance-token", "comp", "Compound", 560_000_000, 55],
  ["dash", "dash", "Dash", 540_000_000, 30],
  ["synthetix-network-token", "snx", "Synthetix", 520_000_000, 2.5],
  ["trust-wallet-token", "twt", "Trust Wallet", 500_000_000, 1],
  ["nexo", "nexo", "NEXO", 480_000_000, 1.2],
  ["basic-attention-token", "bat", "Basic Attention", 460_000_000, 0.25],
  ["zilliqa", "zil", "Zilliqa", 440_000_000, 0.02],
  ["enjincoin", "enj", "Enjin Coin", 420_000_000, 0.3],
  ["ravencoin", "rvn", "Ravencoin", 400_000_000, 0.025],
  ["oasis-network", "rose", "Oasis", 380_000_000, 0.08],
];

// Unranked entries: CoinGecko reports market cap 0 and a null rank for them.
const UNRANKED: readonly (readonly [string, string, string, number])[] = [
  ["safemoon-2", "sfm", "SafeMoon", 0.00004],
  ["binance-peg-dogecoin", "doge", "Binance-Peg Dogecoin", 0.16],
];

export const SIM_COINS: readonly SimCoin[] = [
  ...RANKED.map(([id, symbol, name, marketCap, priceUsd], i) => ({ id, symbol, name, marketCap, rank: i + 1, priceUsd })),
  ...UNRANKED.map(([id, symbol, name, priceUsd]) => ({ id, symbol, name, marketCap: 0, rank: null, priceUsd })),
];

const BY_TICKER = new Map<string, SimCoin>();
for (const coin of SIM_COINS) {
  const ticker = coin.symbol.toUpperCase();
  // A ranked coin owns its ticker; an unranked namesake (the bridged DOGE) does not.
  if (!BY_TICKER.has(ticker)) BY_TICKER.set(ticker, coin);
}

/** The coin a common ticker (`BTC`, `NEO`) names: the ranked one when symbols collide. */
export function simCoinByTicker(ticker: string): SimCoin | undefined {
  return BY_TICKER.get(ticker.toUpperCase());
}
