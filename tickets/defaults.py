"""What a fresh installation starts with: the issue's ticket types and a default SLA
policy (around the clock). Used by a data migration (with the historical models) and by
the demo data; creating what exists already changes nothing."""

TICKET_TYPES = [
    # code, Chinese, English, usual urgency (Priority value), position
    ("question", "咨询", "Question", 20, 10),
    ("complaint", "投诉", "Complaint", 30, 20),
    ("suggestion", "建议", "Suggestion", 10, 30),
    ("repair", "维修", "Repair", 20, 40),
    ("after_sales", "售后", "After-sales", 20, 50),
    ("billing", "账务", "Billing", 30, 60),
    # A VIP's regular check-in (care campaign "VIP revisit"): work for their agent, not a
    # problem of the customer's, so it is not followed up with the customer.
    ("vip_revisit", "VIP 回访", "VIP revisit", 10, 70),
]
# Types whose tickets are the shop's own work: the customer is not told about them.
INTERNAL_TYPES = frozenset({"vip_revisit"})

# priority → minutes to the first response, between responses, to the resolution
DEFAULT_TARGETS = {
    40: (30, 60, 4 * 60),
    30: (60, 4 * 60, 8 * 60),
    20: (4 * 60, 8 * 60, 24 * 60),
    10: (8 * 60, 24 * 60, 72 * 60),
}


def ensure_defaults(ticket_type_model, policy_model, target_model) -> None:
    for code, zh, en, urgency, position in TICKET_TYPES:
        ticket_type_model.objects.get_or_create(
            code=code,
            defaults={"name_zh": zh, "name_en": en, "urgency": urgency, "position": position},
        )
    if policy_model.objects.filter(is_default=True).exists():
        return
    policy, _ = policy_model.objects.get_or_create(name="Standard", defaults={"is_default": True})
    for priority, (first, following, resolution) in DEFAULT_TARGETS.items():
        target_model.objects.get_or_create(
            policy=policy,
            priority=priority,
            customer_level="",
            defaults={
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
            },
        )
