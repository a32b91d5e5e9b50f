-- wrk script: POST a client credentials request with HTTP Basic client
-- authentication. The body and credentials come from the command line:
--   wrk ... -s token-request.lua URL -- "<base64 id:secret>"
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=api.read&resource=https%3A%2F%2Fapi.example.com"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function init(args)
  wrk.headers["Authorization"] = "Basic " .. args[1]
end

-- Every response must be a token: a run that measured errors is worthless.
local failures = 0
function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures == 1 then
      io.stderr:write("non-200 response: " .. status .. " " .. body .. "\n")
    end
  end
end
