// The shapes of kinu/client's param table. The table itself (params.generated.ts) is generated from the
// server's PARAMS by scripts/build-client.ts; these types describe it.

/** Accepted numbers: `min`–`max` inclusive, at most `places` decimals (0 = integers). */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly places: number;
}

export type ParamSpec =
  /** One number, or one of `words` where the param also takes some (`q=auto`). */
  | { readonly kind: 'number'; readonly range: Range; readonly words?: readonly string[] }
  /** One of a fixed list of strings (or numbers, for `rot`). */
  | { readonly kind: 'enum'; readonly values: readonly (string | number)[] }
  /** A boolean, written `1` or `0`. */
  | { readonly kind: 'flag' }
  /** A named position, or an `[x, y]` focal point. */
  | { readonly kind: 'position'; readonly words: readonly string[]; readonly items: readonly Range[] }
  /** Comma-separated numbers; `counts` lists the accepted lengths (1 = a single number). */
  | { readonly kind: 'list'; readonly counts: readonly number[]; readonly items: readonly Range[] }
  /** A hex colour; written lower-case, without `#`. */
  | { readonly kind: 'colour'; readonly pattern: string }
  /** A string matching `pattern`. */
  | { readonly kind: 'string'; readonly pattern: string }
  /** A key in the source, percent-encoded like the image's own key. */
  | { readonly kind: 'key' };
