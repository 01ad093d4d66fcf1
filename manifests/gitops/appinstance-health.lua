-- Argo CD health check for hac.h2o.ai/AppInstance (docs/deploy.md, "GitOps").
-- Reads only the conditions the operator sets and the generation it observed:
--   * the operator has not acted on the latest spec yet     -> Progressing
--   * Ready=True                                            -> Healthy
--   * spec.suspend and the instance is down                 -> Suspended
--   * Ready=False while Progressing=True, or Ready=Unknown  -> Progressing
--   * Ready=False otherwise (e.g. an unresolvable app)      -> Degraded, with the reason and message
local hs = {}
local generation = obj.metadata and obj.metadata.generation or 0
local status = obj.status
if status == nil or status.observedGeneration == nil or status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on generation " .. tostring(generation)
  return hs
end

local function condition(kind)
  if status.conditions == nil then return nil end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then return c end
  end
  return nil
end

local function describe(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then text = text .. ": " end
    text = text .. c.message
  end
  return text
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Ready condition is from generation " .. tostring(ready.observedGeneration)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

local progressing = condition("Progressing")
local rollingOut = progressing ~= nil and progressing.status == "True"
if obj.spec ~= nil and obj.spec.suspend == true and not rollingOut then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if ready.status == "Unknown" or rollingOut then
  hs.status = "Progressing"
  hs.message = describe(rollingOut and progressing or ready)
  return hs
end
hs.status = "Degraded"
hs.message = describe(ready)
return hs
