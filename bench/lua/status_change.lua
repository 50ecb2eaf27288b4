-- Status change on pre-created leads (exto <prefix><thread>-<n>, n < leads): each request
-- targets the next lead of its thread and flips it between approved and hold, so every
-- request is a real change. Arguments: the path up to exto, the exto prefix, leads per thread.
local counter = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  path = args[1]
  prefix = args[2]
  leads = tonumber(args[3])
end

function request()
  counter = counter + 1
  local n = counter % leads
  local status = (math.floor(counter / leads) % 2 == 0) and "approved" or "hold"
  return wrk.format("GET", path .. "&exto=" .. prefix .. tid .. "-" .. n .. "&status=" .. status)
end
