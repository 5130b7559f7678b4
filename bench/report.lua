-- Shared by token.lua and validate.lua: after the run, print one machine-readable line that
-- bench/run.sh parses (latencies in microseconds, from wrk's full latency histogram).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHRESULT requests=%d duration_us=%d rps=%.1f p50_us=%.0f p99_us=%.0f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
