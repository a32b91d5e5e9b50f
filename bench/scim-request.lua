-- wrk script for bench/scim.sh: SCIM requests with a bearer token.
--   wrk ... -s scim-request.lua URL -- TOKEN create PREFIX
--       POST URL (the Users endpoint), each request a new user named
--       PREFIX-<thread>-<n>: a counter per thread, so names never collide.
--   wrk ... -s scim-request.lua URL -- TOKEN get PATH N
--       GET PATH with every "{i}" replaced by a random integer in [0, N).
-- done() prints one line for the script to read:
--   RESULT requests=.. seconds=.. p50_us=.. p99_us=.. non2xx=.. socket_errors=.. timeouts=.. empty=..
-- `socket_errors` are connect, read and write errors; `timeouts` are requests
-- given no answer within wrk's --timeout, which a slow server may earn.
-- `empty` counts 200 answers to a GET whose list was empty (totalResults 0):
-- a search that found nothing measured nothing.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local mode, prefix, path, n
local counter = 0
empty = 0

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Accept"] = "application/scim+json"
  mode = args[2]
  if mode == "create" then
    prefix = args[3] .. "-" .. tid
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/scim+json"
  elseif mode == "get" then
    path, n = args[3], tonumber(args[4])
    math.randomseed(os.time() * 100 + tid)
  else
    error("mode is create or get, not " .. tostring(mode))
  end
end

local user = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
  .. '"userName":"%s","name":{"givenName":"Bench","familyName":"%s"},'
  .. '"emails":[{"value":"%s@example.com","type":"work","primary":true}]}'

function request()
  if mode == "create" then
    counter = counter + 1
    local name = prefix .. "-" .. counter
    return wrk.format(nil, nil, nil, string.format(user, name, name, name))
  end
  local i = tostring(math.random(0, n - 1))
  return wrk.format("GET", (string.gsub(path, "{i}", i)))
end

local reported = false
function response(status, headers, body)
  if status >= 300 and not reported then
    reported = true
    io.stderr:write("non-2xx response: " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
  end
  if mode == "get" and status == 200 and string.find(body, '"totalResults":%s*0[,}]') then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local empties = 0
  for _, thread in ipairs(threads) do
    empties = empties + (thread:get("empty") or 0)
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d timeouts=%d empty=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout, empties))
end
