-- wrk script for bench/webhooks.py --generator wrk: every thread posts its own share of the
-- pre-signed events in the file given after "--" (one "signature<TAB>body" line each), each
-- once; past the end it starts over and counts the repeats, which the benchmark reports
-- (a repeated wamid is a redelivery, not a new event). done() prints one JSON line.
--   wrk ... -s bench/wrk_post.lua URL -- EVENTS_FILE THREADS
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  sigs, bodies, n, idx, line_no = {}, {}, 0, 0, 0
  for line in io.lines(path) do
    if line_no % nthreads == id then
      local tab = line:find("\t", 1, true)
      n = n + 1
      sigs[n], bodies[n] = line:sub(1, tab - 1), line:sub(tab + 1)
    end
    line_no = line_no + 1
  end
  ok, bad, repeats = 0, 0, 0
end

function request()
  idx = idx + 1
  if idx > n then idx, repeats = 1, repeats + 1 end
  return wrk.format("POST", "/webhooks/whatsapp",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[idx]}, bodies[idx])
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local okt, badt, rept = 0, 0, 0
  for _, t in ipairs(threads) do
    okt, badt, rept = okt + t:get("ok"), badt + t:get("bad"), rept + t:get("repeats")
  end
  local e = summary.errors
  io.write(string.format('WRK {"ok": %d, "bad": %d, "repeats": %d, "socket_errors": %d, "seconds": %f, '
    .. '"p50_ms": %f, "p99_ms": %f}\n', okt, badt, rept, e.connect + e.read + e.write + e.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
