-- wrk script for GET /validate with a random token per request, from a file (one per line).
--   BENCH_TOKENS  the token file
--   BENCH_DIR     this folder (to load report.lua)
wrk.method = "GET"
local headers = {}
for line in io.lines((assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS is not set"))) do
  if #line > 0 then headers[#headers + 1] = "Bearer " .. line end
end
assert(#headers > 0, "no tokens in BENCH_TOKENS")
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end
function request()
  return wrk.format(nil, nil, { Authorization = headers[math.random(#headers)] })
end
dofile(assert(os.getenv("BENCH_DIR"), "BENCH_DIR is not set") .. "/report.lua")
