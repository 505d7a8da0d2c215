"""The demo shop's staff and skill groups (plain data: the launcher prints them)."""

DEMO_PASSWORD = "lumen-demo"  # noqa: S105 (published demo login, printed by `make run`)

SKILL_GROUPS = [
    ("presales", "售前咨询", "Pre-sales"),
    ("aftersales", "售后服务", "After-sales"),
    ("membership", "会员服务", "Membership"),
    ("vip", "VIP 专属服务", "VIP service"),
]

# username, display name, role, skill groups
STAFF = [
    ("supervisor", "陈主管 Chen", "Supervisors", ["presales", "aftersales", "membership", "vip"]),
    ("agent1", "李娜 Li Na", "Agents", ["presales", "membership"]),
    ("agent2", "王伟 Wang Wei", "Agents", ["aftersales"]),
    ("agent3", "Emma Zhang", "Agents", ["aftersales", "vip"]),
]
