package main

// wrkScript drives one scenario. It picks a random user of the generated set
// for every request, sends Basic auth, and prints its figures as one JSON
// line at the end. Users are FU%032x for 0 ≤ i < users, as bench generates.
//
// Each of wrk's threads seeds its own generator from the run's nonce
// (BENCH_NONCE, new for every run) and its number: unseeded, every thread of
// every run would ask for the same users in the same order, so that a small
// cache would look big, and an update would set the e-mail that the same
// update of an earlier run had set, changing nothing. For the same reason
// every e-mail an update sets names the run and the thread.
const wrkScript = `
local users = tonumber(os.getenv("BENCH_USERS"))
local instance = os.getenv("BENCH_INSTANCE")
local mode = os.getenv("BENCH_MODE")           -- fetch, miss, healthz, update, mixed, malformed, not-allowed
local nonce = os.getenv("BENCH_NONCE")
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local counter = 0

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

init = function(args)
  math.randomseed(tonumber(nonce) + thread_number * 7919)
end

request = function()
  counter = counter + 1
  local i = math.random(0, users - 1)
  local path = "/v2/Instances/" .. instance .. "/Users/" .. string.format("FU%032x", i)
  if mode == "miss" then
    path = "/v2/Instances/" .. instance .. "/Users/FU" .. string.format("%032x", users + i)
  elseif mode == "healthz" then
    path = "/healthz"
  elseif mode == "malformed" then
    path = "/v2/Instances/" .. instance .. "/Users/FU" .. i
  elseif mode == "not-allowed" then
    return wrk.format("DELETE", path, nil, nil)
  end
  if mode == "update" or (mode == "mixed" and math.random(1, 10) == 1) then
    return wrk.format("POST", path, nil, "Email=u" .. i .. "-" .. nonce .. "-" .. thread_number .. "-" .. counter .. "@example.com")
  end
  return wrk.format("GET", path, nil, nil)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"seconds":%f,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"status_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`
