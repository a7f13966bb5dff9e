-- Argo CD health of an AppStack (apps.appstack.dev/v1alpha1), from the operator's
-- kstatus conditions (docs/gitops.md): Ready, Stalled and Reconciling, and
-- status.observedGeneration. Written for argocd-cm's
-- resource.customizations.health.apps.appstack.dev_AppStack, where the Lua
-- standard libraries are off: only the base and table functions are used.
--
--   being deleted                          Progressing
--   spec.paused                            Suspended
--   no status, or observedGeneration <
--   metadata.generation                    Progressing (the operator has not seen the spec yet)
--   Stalled=True                           Degraded    (needs a change from someone)
--   Ready=True                             Healthy     (the message names a warning, if any)
--   Reconciling=True                       Progressing (still working toward the spec)
--   Ready=False, neither of the above      Progressing (an operator older than Stalled/Reconciling)

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

-- said is a condition as STATUS and the message say it together: "Reason: message",
-- or the message alone when the reason is plain Ready.
local function said(c)
  local message = c.message or ""
  if c.reason == nil or c.reason == "" or c.reason == "Ready" then
    return message
  end
  if message == "" then
    return c.reason
  end
  return c.reason .. ": " .. message
end

local hs = {}

-- reported is the message of the Ready condition when its reason is reason (the
-- operator has acted on what the rule sees), else otherwise.
local function reported(reason, otherwise)
  local ready = condition("Ready")
  if ready ~= nil and ready.reason == reason and ready.message ~= nil and ready.message ~= "" then
    return ready.message
  end
  return otherwise
end

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = reported("Deleting", "deleting")
  return hs
end

if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = reported("Suspended", "paused: spec.paused is true")
  return hs
end

local generation = obj.metadata.generation or 0
if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to observe generation " .. generation
  return hs
end

-- The condition of these that is True decides (the operator sets at most one of
-- them True; the order only matters for a status that breaks that).
for _, decides in ipairs({{"Stalled", "Degraded"}, {"Ready", "Healthy"}, {"Reconciling", "Progressing"}}) do
  local c = condition(decides[1])
  if c ~= nil and c.status == "True" then
    hs.status = decides[2]
    hs.message = said(c)
    return hs
  end
end

local ready = condition("Ready")
hs.status = "Progressing"
if ready ~= nil then
  hs.message = said(ready)
else
  hs.message = "waiting for the operator to report the stack's Ready condition"
end
return hs
