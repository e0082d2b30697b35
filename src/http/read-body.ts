/** The body is larger than we accept: refused before it is parsed. */
export class BodyTooLarge extends Error {}

/** Reads a response body as text, refusing (and cancelling) past `maxBytes`. */
export async function readBodyText(response: Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  const length = response.headers.get("content-length");
  const declared = length === null || response.headers.has("transfer-encoding") ? Number.NaN : Number(length);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLarge();
  }
  if (!response.body) return "";
  // With a declared length within the limit, HTTP framing holds the body to it: read it natively.
  if (Number.isFinite(declared)) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (signal?.aborted) {
      await reader.cancel().catch(() => {});
      throw signal.reason ?? new Error("aborted");
    }
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
