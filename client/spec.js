// The shapes of kinu/client's param table. The table itself (params.generated.ts) is generated from the
// server's PARAMS by scripts/build-client.ts; these types describe it.
export {};
