/** Facts about a tracked coin, kept in the database's `coins` table. */
export interface CoinInfo {
  coin: string;
  name: string;
  marketCap: number | null;
}
