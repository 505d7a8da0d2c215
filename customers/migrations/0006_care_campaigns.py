"""The shop's care campaigns as they come: each can be changed or switched off in admin."""

from decimal import Decimal

from django.db import migrations

CAMPAIGNS = [
    {
        "kind": "survey",
        "delay_minutes": 5,
        "expire_hours": 24,
        "reward_points": 10,
        "text_zh": "您好，{name}！您对刚才的服务满意吗？请为我们打分（1–5 分），评价即可获得积分。",
        "text_en": "Hi {name}! How happy were you with our help just now? Please rate us "
        "from 1 to 5: answering earns you points.",
    },
    {
        "kind": "birthday",
        "expire_hours": 15,
        "coupon_amount": Decimal("20.00"),
        "coupon_days": 30,
        "text_zh": "{name}，生日快乐！送您一张 {amount} 元生日优惠券：{coupon}，30 天内有效。",
        "text_en": "Happy birthday, {name}! Here is a birthday coupon worth {amount} off: "
        "{coupon}, valid for 30 days.",
    },
    {
        "kind": "order_shipped",
        "expire_hours": 48,
        "text_zh": "您的订单 {order} 已发货，承运商：{carrier}，运单号：{tracking}。",
        "text_en": "Your order {order} has shipped with {carrier}, tracking number {tracking}.",
    },
    {
        "kind": "order_delivered",
        "expire_hours": 48,
        "text_zh": "您的订单 {order} 已送达。如有任何问题，随时在这里联系我们。",
        "text_en": "Your order {order} has been delivered. If anything is wrong, just "
        "message us here.",
    },
]


def add_campaigns(apps, schema_editor):
    CareCampaign = apps.get_model("customers", "CareCampaign")
    for fields in CAMPAIGNS:
        CareCampaign.objects.get_or_create(kind=fields["kind"], defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_care")]

    operations = [migrations.RunPython(add_campaigns, migrations.RunPython.noop)]
