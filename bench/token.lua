-- wrk script for POST /token (client_credentials, HTTP Basic auth). The same request goes to
-- the floor worker (which ignores it) so that both parse identical bytes.
--   BENCH_BASIC  the Authorization header value ("Basic ...")
--   BENCH_DIR    this folder (to load report.lua)
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = assert(os.getenv("BENCH_BASIC"), "BENCH_BASIC is not set")
dofile(assert(os.getenv("BENCH_DIR"), "BENCH_DIR is not set") .. "/report.lua")
