:

^/var/lib/mesh/frameworks/fw-1/executors/t-done/runs/a208cfee-d0b2-4b01-b052-dadbf7d9f9c2/.mesh€ "
•¶çÂÚ¦÷(íƒ2root:root
‚
_/var/lib/mesh/frameworks/fw-1/executors/t-done/runs/a208cfee-d0b2-4b01-b052-dadbf7d9f9c2/stderrç"
§ªéÂÚ¦÷(¤ƒ2root:root

_/var/lib/mesh/frameworks/fw-1/executors/t-done/runs/a208cfee-d0b2-4b01-b052-dadbf7d9f9c2/stdout"
ÍåßÂÚ¦÷(¤ƒ2root:root