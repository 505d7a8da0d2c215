"""The demo shop's known customers and their orders (plain data for load_demo)."""

DEMO_CUSTOMERS = [
    {
        "external_id": "demo-1001",
        "name": "王芳",
        "email": "wangfang@example.com",
        "phone": "13800001001",
        "language": "zh",
        "level": "vip",
        "timezone": "Asia/Shanghai",
        "birthday": "1988-03-15",
        "quiet": ("22:00", "08:00"),
        # (author's username, body): shared notes every agent sees in the 360° panel.
        "notes": [
            ("agent3", "老顾客，对价格敏感：避免谈价格，优先给出解决方案。Avoid price talk."),
            ("supervisor", "偏好电话回访，工作日 18:00 以后。Prefers a call back after 18:00."),
        ],
        "tags": ["价格敏感", "回头客"],
        "orders": [
            {
                "number": "LM20261103",
                "status": "shipped",
                "total": "399.00",
                "carrier": "顺丰速运",
                "tracking_number": "SF1234567890123",
                "items": [
                    {
                        "sku": "BUDS-2",
                        "name": "Lumen Buds 2 无线耳机",
                        "qty": 1,
                        "category": "audio",
                    }
                ],
                "days_ago": 2,
                "events": [
                    {"days_ago": 2, "place": "深圳", "status": "已揽收 Picked up"},
                    {"days_ago": 1, "place": "上海转运中心", "status": "运输中 In transit"},
                ],
            },
            {
                "number": "LM20261020",
                "status": "delivered",
                "total": "1299.00",
                "carrier": "顺丰速运",
                "tracking_number": "SF9876543210987",
                "items": [
                    {"sku": "VAC-S7", "name": "Lumen S7 扫地机器人", "qty": 1, "category": "home"}
                ],
                "days_ago": 30,
                "events": [{"days_ago": 27, "place": "上海", "status": "已签收 Delivered"}],
            },
        ],
    },
    {
        "external_id": "demo-2002",
        "name": "Emily Chen",
        "email": "emily@example.com",
        "phone": "",
        "language": "en",
        "level": "normal",
        "timezone": "Europe/London",
        "birthday": "1996-02-29",
        "quiet": None,
        "notes": [("agent1", "Writes in English; first order, new to the shop.")],
        "tags": ["new customer"],
        "orders": [
            {
                "number": "LM20261111",
                "status": "paid",
                "total": "189.00",
                "carrier": "",
                "tracking_number": "",
                "items": [
                    {
                        "sku": "KETTLE-1",
                        "name": "Lumen Electric Kettle",
                        "qty": 1,
                        "category": "home",
                    }
                ],
                "days_ago": 1,
                "events": [],
            },
        ],
    },
]

# Automatic tag rules (admin → Customers → Automatic tag rules): the tag in both languages,
# what is counted, at least how much, within how many days.
DEMO_TAG_RULES = [
    {
        "name_zh": "售后维权客户",
        "name_en": "After-sales dispute",
        "kind": "complaint",
        "value": "",
        "threshold": 2,
        "window_days": 90,
    },
    {
        "name_zh": "近期情绪激动",
        "name_en": "Upset recently",
        "kind": "emotion",
        "value": "",
        "threshold": 1,
        "window_days": 30,
    },
    {
        "name_zh": "关注物流",
        "name_en": "Follows deliveries",
        "kind": "intent",
        "value": "logistics_tracking",
        "threshold": 2,
        "window_days": 30,
    },
    {
        "name_zh": "咨询过退货",
        "name_en": "Asked about returns",
        "kind": "article",
        "value": "returns-policy",
        "threshold": 1,
        "window_days": 90,
    },
    {
        "name_zh": "音频设备买家",
        "name_en": "Audio buyer",
        "kind": "category",
        "value": "audio",
        "threshold": 1,
        "window_days": 365,
    },
    {
        "name_zh": "高消费客户",
        "name_en": "Big spender",
        "kind": "spend",
        "value": "",
        "threshold": 1000,
        "window_days": 365,
    },
]
