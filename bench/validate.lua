-- wrk script for GET /validate with a Bearer token. The same request goes to the floor worker
-- (which ignores it) so that both parse identical bytes.
--   BENCH_BEARER  the access token
--   BENCH_DIR     this folder (to load report.lua)
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_BEARER"), "BENCH_BEARER is not set")
dofile(assert(os.getenv("BENCH_DIR"), "BENCH_DIR is not set") .. "/report.lua")
