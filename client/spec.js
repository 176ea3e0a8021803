// Compiled from src/client/ by `npm run build:client` (scripts/build-client.ts) — do not edit; edit src/client/ and rebuild.
// The shapes of kinu/client's param table. The table itself (params.generated.ts) is generated from the
// server's PARAMS by scripts/build-client.ts; these types describe it.
export {};
