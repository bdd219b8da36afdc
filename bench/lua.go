package main

// wrkScript drives one scenario. It picks a random user of the generated set
// for every request, sends Basic auth, and prints its figures as one JSON
// line at the end. Users are FU%032x for 0 ≤ i < users, as bench generates.
const wrkScript = `
local users = tonumber(os.getenv("BENCH_USERS"))
local instance = os.getenv("BENCH_INSTANCE")
local mode = os.getenv("BENCH_MODE")           -- fetch, miss, healthz, update, mixed
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local counter = 0

request = function()
  counter = counter + 1
  local i = math.random(0, users - 1)
  local path = "/v2/Instances/" .. instance .. "/Users/" .. string.format("FU%032x", i)
  if mode == "miss" then
    path = "/v2/Instances/" .. instance .. "/Users/FU" .. string.format("%032x", users + i)
  elseif mode == "healthz" then
    path = "/healthz"
  end
  if mode == "update" or (mode == "mixed" and math.random(1, 10) == 1) then
    return wrk.format("POST", path, nil, "Email=u" .. i .. "-" .. counter .. "@example.com")
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
