"""The automation a fresh installation starts with: three macros every agent may apply,
and three example rules that admin switches on (they start inactive: a rule changes
tickets by itself, so someone decides it should). Used by a data migration (with the
historical models); creating what exists already changes nothing."""

DEMO_MACROS = [
    # Chinese name, English name, actions
    ("退款进度", "Refund status", [{"action": "refund_status"}]),
    (
        "索要订单号",
        "Ask for the order number",
        [
            {"action": "set", "field": "status", "value": "pending_customer"},
            {
                "action": "reply",
                "zh": "您好 {customer}，为了尽快处理工单 {number}，请告诉我们您的订单号。",
                "en": "Hello {customer}, to move ticket {number} forward, please tell us "
                "your order number.",
            },
        ],
    ),
    (
        "升级给主管",
        "Escalate to a supervisor",
        [
            {"action": "set", "field": "priority", "value": "urgent"},
            {"action": "add_tag", "value": "escalated"},
            {
                "action": "note",
                "zh": "已升级给主管，请跟进。",
                "en": "Escalated to a supervisor: please follow up.",
            },
            {"action": "notify", "to": ["supervisors"]},
        ],
    ),
]

DEMO_RULES = [
    # name, trigger, conditions, actions
    (
        "VIP 投诉升为紧急 (VIP complaint: urgent, supervisors told)",
        "created",
        [
            {"field": "type", "op": "is", "value": "complaint"},
            {"field": "customer_level", "op": "is", "value": "vip"},
        ],
        [
            {"action": "set", "field": "priority", "value": "urgent"},
            {"action": "add_tag", "value": "vip-complaint"},
            {"action": "notify", "to": ["supervisors", "group"]},
        ],
    ),
    (
        "新工单 4 小时未回复 (New with no reply for 4 hours: tell the group)",
        "time",
        [
            {"field": "status", "op": "in", "value": ["new", "reopened"]},
            {"field": "replied", "op": "is", "value": False},
            {"field": "hours_since_created", "op": "gte", "value": 4},
        ],
        [
            {"action": "add_tag", "value": "no-reply-4h"},
            {"action": "notify", "to": ["group", "assignee"]},
        ],
    ),
    (
        "待客户回复超过 48 工作小时 (Pending customer for 48 business hours: resolve)",
        "time",
        [
            {"field": "status", "op": "is", "value": "pending_customer"},
            {"field": "hours_pending", "op": "gte", "value": 48, "business": True},
        ],
        [
            {
                "action": "reply",
                "zh": "您好 {customer}，工单 {number} 两天没有收到您的回复，我们先将它标记为已解决。"
                "如仍需帮助，直接回复即可重新打开。",
                "en": "Hello {customer}, we have not heard from you on ticket {number} for two "
                "days, so we are marking it resolved. Just reply if you still need help.",
            },
            {"action": "set", "field": "status", "value": "resolved"},
        ],
    ),
]


def ensure_automation(rule_model, macro_model) -> None:
    for position, (name_zh, name_en, actions) in enumerate(DEMO_MACROS, start=1):
        macro_model.objects.get_or_create(
            name_en=name_en,
            defaults={"name_zh": name_zh, "actions": actions, "position": position * 10},
        )
    for position, (name, trigger, conditions, actions) in enumerate(DEMO_RULES, start=1):
        rule_model.objects.get_or_create(
            name=name,
            defaults={
                "trigger": trigger,
                "conditions": conditions,
                "actions": actions,
                "position": position * 10,
                "is_active": False,
            },
        )
