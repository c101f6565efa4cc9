-- wrk script: POST the same body with a fresh nonce and its precomputed signature each time.
-- Arguments: <signatures file> <first index> <threads>. Thread t of n takes entries t, t+n, ...
local signatures = {}
local counter = 0
local thread_index = 0
local threads = 0
local stride = 1
local body

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  body = file:read("*l")
  timestamp = file:read("*l")
  for line in file:lines() do
    local nonce, signature = line:match("([^\t]+)\t([^\t]+)")
    signatures[#signatures + 1] = {nonce, signature}
  end
  file:close()
  counter = tonumber(args[2] or "0")
  stride = tonumber(args[3] or "1")
  wrk.method = "POST"
  wrk.body = body
end

function request()
  local index = (counter * stride + thread_index) % #signatures + 1
  counter = counter + 1
  local entry = signatures[index]
  return wrk.format(nil, nil, {
    ["Content-Type"] = "application/json",
    ["x-sinch-webhook-signature-nonce"] = entry[1],
    ["x-sinch-webhook-signature-timestamp"] = timestamp,
    ["x-sinch-webhook-signature-algorithm"] = "HmacSHA256",
    ["x-sinch-webhook-signature"] = entry[2],
  })
end
