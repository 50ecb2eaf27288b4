-- Clicks from many public addresses, as a CDN or nginx in front of us forwards them:
-- each request names its visitor in X-Forwarded-For (the bench server trusts one hop),
-- so every click is looked up in the GeoIP data; a phone's user agent, as real traffic has.
-- Arguments: the path.
local counter = 0
local threads = 0
-- /16 networks of several countries and a few hosting networks (a share of data-centre traffic).
local prefixes = {
  "24.16", "73.12", "98.207", "81.2", "86.140", "5.146", "91.64", "2.200", "82.64", "95.90",
  "177.32", "189.6", "187.45", "41.13", "102.132", "49.36", "103.21", "110.172", "125.16", "1.128",
  "5.9", "34.102", "52.16", "139.59", "8.8",
}

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  path = args[1]
end

function request()
  counter = counter + 1
  local prefix = prefixes[(counter % #prefixes) + 1]
  local ip = prefix .. "." .. ((counter * 7 + tid * 13) % 250 + 1) .. "." .. (math.floor(counter / #prefixes) % 250 + 1)
  return wrk.format("GET", path, {
    ["X-Forwarded-For"] = ip,
    ["User-Agent"] = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Mobile Safari/537.36",
  })
end
