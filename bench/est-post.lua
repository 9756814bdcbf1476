-- bench/est-post.lua: wrk posts each pre-made request once, from wrk's
-- event loop (a lighter client than bench/est-bench's libcurl threads on
-- the same cores).
--   wrk -t T -c C -d S -s est-post.lua URL -- FILE T est AUTHORIZATION HOST
--   wrk -t T -c C -d S -s est-post.lua URL -- FILE T cfssl
-- FILE holds one base64 PKCS#10 request per line. est posts it as EST
-- application/pkcs10 with HTTP Basic; cfssl as /api/v1/cfssl/sign's JSON
-- (the request in PEM). Thread k of T sends the lines k, k+T, k+2T, ...
-- once each: no request is a repeat. A thread that runs out stops and the
-- summary says "RAN OUT OF REQUESTS": the figure is then too low.
local threads, counter = {}, 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local function cfssl_body(b64)
   local pem = {}
   for i = 1, #b64, 64 do pem[#pem + 1] = b64:sub(i, i + 63) end
   return '{"certificate_request": "-----BEGIN CERTIFICATE REQUEST-----\\n' .. table.concat(pem, "\\n")
          .. '\\n-----END CERTIFICATE REQUEST-----\\n"}'
end

function init(args)
   local n, mode, k = tonumber(args[2]), args[3], 0
   local headers
   if mode == "cfssl" then
      headers = { ["Content-Type"] = "application/json" }
   else
      headers = { ["Content-Type"] = "application/pkcs10", ["Authorization"] = args[4], ["Host"] = args[5] }
   end
   reqs, next_req, ran_out = {}, 0, 0
   for line in io.lines(args[1]) do
      if k % n == id then
         reqs[#reqs + 1] = wrk.format("POST", nil, headers, mode == "cfssl" and cfssl_body(line) or line)
      end
      k = k + 1
   end
end

function request()
   next_req = next_req + 1
   if next_req > #reqs then
      ran_out = 1
      next_req = #reqs
      wrk.thread:stop()
   end
   return reqs[next_req]
end

-- One line, read by bench/ca-throughput: "N answered ... R certs/s p50 A p99 B ms".
function done(summary, latency, requests)
   local ran_out_any = 0
   for _, t in ipairs(threads) do ran_out_any = ran_out_any + t:get("ran_out") end
   local e = summary.errors
   io.write(string.format("%d answered, errors: connect %d read %d write %d status %d timeout %d, "
                          .. "%.3f s: %.1f certs/s p50 %.2f p99 %.2f ms%s\n",
                          summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
                          summary.duration / 1e6, (summary.requests - e.status) * 1e6 / summary.duration,
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          ran_out_any > 0 and " RAN OUT OF REQUESTS" or ""))
end
