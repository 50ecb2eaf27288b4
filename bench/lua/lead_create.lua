-- Lead creation: every request a new lead, exto unique per thread and request.
-- Arguments: the path up to exto, and a prefix unique to this run.
local counter = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  path = args[1]
  prefix = args[2]
end

function request()
  counter = counter + 1
  return wrk.format("GET", path .. "&exto=" .. prefix .. "-" .. tid .. "-" .. counter)
end
