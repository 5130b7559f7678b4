-- wrk script for POST /token (client_credentials) as a random client per request: HTTP Basic
-- header values from a file (one per line, "Basic ...").
--   BENCH_BASICS  the file
--   BENCH_DIR     this folder (to load report.lua)
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
local basics = {}
for line in io.lines((assert(os.getenv("BENCH_BASICS"), "BENCH_BASICS is not set"))) do
  if #line > 0 then basics[#basics + 1] = line end
end
assert(#basics > 0, "no headers in BENCH_BASICS")
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end
function request()
  return wrk.format(nil, nil, { ["Content-Type"] = "application/x-www-form-urlencoded", Authorization = basics[math.random(#basics)] })
end
dofile(assert(os.getenv("BENCH_DIR"), "BENCH_DIR is not set") .. "/report.lua")
