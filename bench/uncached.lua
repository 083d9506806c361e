-- wrk script: every request a path never requested before, so none is served from a cache.
--
--   wrk -s bench/uncached.lua http://127.0.0.1:8000 -- <nonce> <path> [<path> ...]
--
-- The paths (already URL-encoded) are requested in turn, each with a unique
-- `bench=<nonce>-<thread>-<count>` parameter appended: JoyCart keys its page cache on the
-- whole query string, so every request misses. A fresh nonce per run keeps the keys of
-- one run (or round, or warm-up) from being hits in the next. bench/loadgen.py's
-- UncachedPaths builds the same paths for the Python generator.

local threads = 0

function setup(thread)
   -- Runs in wrk's main Lua state, once per thread, before the thread's init().
   threads = threads + 1
   thread:set("thread_number", threads)
end

local paths = {}
local prefix
local count = 0

function init(args)
   -- args[0] is the URL; args[1] the nonce; args[2..] the paths.
   if #args < 2 then
      error("usage: wrk -s uncached.lua <url> -- <nonce> <path> [<path> ...]")
   end
   for i = 2, #args do
      local path = args[i]
      local separator = path:find("?", 1, true) and "&" or "?"
      paths[#paths + 1] = path .. separator .. "bench="
   end
   prefix = args[1] .. "-" .. thread_number .. "-"
end

function request()
   count = count + 1
   return wrk.format(nil, paths[(count - 1) % #paths + 1] .. prefix .. count)
end
