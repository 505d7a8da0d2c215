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


# Proactive chat invitations (admin → Customers → Chat invitation rules).
INVITATION_RULES = [
    {
        "name": "商品页 30 秒 / product page, 30 s",
        "position": 1,
        "url_pattern": "/products/*",
        "min_seconds": 30,
        "message_zh": "对这款商品有疑问吗？我们可以帮您挑选。",
        "message_en": "Questions about this product? We can help you choose.",
    },
    {
        "name": "刚下单的客户 / just ordered",
        "position": 0,
        "url_pattern": "/orders/*",
        "min_seconds": 10,
        "recent_order_days": 7,
        "message_zh": "您的订单有任何问题，随时问我们。",
        "message_en": "Anything about your order? Just ask.",
    },
]

# Recommendations (admin → Customers → Recommendation rules): products by SKU, or a coupon.
RECOMMENDATION_RULES = [
    {
        "name": "耳机配件 / earbud accessories",
        "position": 0,
        "moment": "answer",
        "topic": "product-help",
        "order_category": "audio",
        "kind": "products",
        "message_zh": "您可能还需要这些配件：",
        "message_en": "You might also like these accessories:",
        "products": [
            ("CASE-B2", "Buds 2 保护套", "Buds 2 case", "https://shop.example/products/case-b2"),
            (
                "TIPS-B2",
                "Buds 2 替换耳塞",
                "Buds 2 ear tips",
                "https://shop.example/products/tips-b2",
            ),
        ],
    },
    {
        "name": "物流补偿券 / delivery apology coupon",
        "position": 1,
        "moment": "close",
        "topic": "logistics_tracking",
        "kind": "coupon",
        "message_zh": "让您久等了，送您一张优惠券：",
        "message_en": "Sorry for the wait. Here is a coupon for you:",
        "coupon_title_zh": "物流补偿券",
        "coupon_title_en": "Delivery apology coupon",
        "coupon_amount": "15",
        "coupon_minimum_spend": "99",
        "coupon_url": "https://shop.example/coupons",
    },
]
