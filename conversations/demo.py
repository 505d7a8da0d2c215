"""The demo shop's staff and skill groups (plain data: the launcher prints them)."""

DEMO_PASSWORD = "lumen-demo"  # noqa: S105 (published demo login, printed by `make run`)

SKILL_GROUPS = [
    ("presales", "售前咨询", "Pre-sales"),
    ("aftersales", "售后服务", "After-sales"),
    ("membership", "会员服务", "Membership"),
    ("vip", "VIP 专属服务", "VIP service"),
    # Not a chat queue: other teams ask it about technical faults (collaboration requests).
    ("tech", "技术支持（研发）", "Technical support (R&D)"),
]

# How each group routes: strategy, dedicated agent first, overflow group and wait (s), in menu.
ROUTING = {
    "presales": {"strategy": "round_robin", "in_menu": True, "position": 1},
    "aftersales": {"strategy": "least_load", "in_menu": True, "position": 2},
    "membership": {
        "strategy": "least_load",
        "overflow": ("presales", 120),
        "in_menu": True,
        "position": 3,
    },
    "vip": {
        "strategy": "least_load",
        "prefer_dedicated_agent": True,
        "overflow": ("aftersales", 60),
        "in_menu": False,
        "position": 0,
    },
    "tech": {"strategy": "least_load", "in_menu": False, "position": 5},
}

# The VIP demo customer is looked after by this agent.
DEDICATED = [("demo-1001", "agent3")]

# shortcut, language, title, text
CANNED_REPLIES = [
    ("hello", "zh", "问候", "您好 {name}，我是{agent}，很高兴为您服务！请问有什么可以帮您？"),
    ("hello", "en", "Greeting", "Hello {name}, this is {agent}. How can I help you today?"),
    ("wait", "zh", "请稍等", "好的，我帮您查一下，请稍等一两分钟。"),
    ("wait", "en", "One moment", "Sure, let me check that for you. It will take a minute or two."),
    (
        "refund",
        "zh",
        "退款时间",
        "退款会在我们收到退货后 1–3 个工作日内原路退回，银行到账可能还需 1–5 个工作日。",
    ),
    (
        "refund",
        "en",
        "Refund timing",
        "We refund to your original payment method within 1–3 working days of receiving the "
        "return; your bank may take another 1–5 working days.",
    ),
    ("bye", "zh", "结束语", "感谢您的耐心，祝您生活愉快！如还有问题，随时联系我们。"),
    (
        "bye",
        "en",
        "Closing",
        "Thank you for your patience, and have a lovely day! We're here if you need us.",
    ),
]

# username, display name, role, skill groups
STAFF = [
    (
        "supervisor",
        "陈主管 Chen",
        "Supervisors",
        ["presales", "aftersales", "membership", "vip", "tech"],
    ),
    ("agent1", "李娜 Li Na", "Agents", ["presales", "membership"]),
    ("agent2", "王伟 Wang Wei", "Agents", ["aftersales", "tech"]),
    ("agent3", "Emma Zhang", "Agents", ["aftersales", "vip"]),
]


# Sites that show the chat widget: the demo shop page of docs/care.md, served on port 8080.
WIDGET_SITES = [
    {
        "name": "Demo shop",
        "key": "demo-shop",
        "allowed_origins": "http://127.0.0.1:8080\nhttp://localhost:8080",
    }
]
