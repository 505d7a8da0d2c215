from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from analytics.api import SummaryView
from conversations.api import BotAnswerView, ChatAttachmentView, ChatSessionView
from conversations.api_inbound import InboundMessageView
from conversations.api_partner import (
    ConversationDetailView,
    ConversationListView,
    ConversationMessagesView,
    SurveyResponseListView,
)
from conversations.api_widget import InvitationAnswerView, InvitationView, WidgetConfigView
from conversations.views import attachment_file, chat_page
from conversations.views.widget import recommendation_click, widget_js
from customers.api import CustomerDetailView, CustomerListView, OrderDetailView, OrderListView
from customers.api_coupons import CouponDetailView, CouponListView, CouponRedeemView
from helpdesk.health import healthz
from helpdesk.schema import api_docs
from helpdesk.webhooks.api import WebhookDetailView, WebhookListView
from knowledge.api import ArticleDetailView, ArticleListView
from tickets.api import TicketCommentView, TicketDetailView, TicketListView

api_v1 = [
    path("chat/sessions/", ChatSessionView.as_view(), name="chat-sessions"),
    path("chat/attachments/", ChatAttachmentView.as_view(), name="chat-attachments"),
    path("chat/widget/", WidgetConfigView.as_view(), name="chat-widget"),
    path("chat/invitations/", InvitationView.as_view(), name="chat-invitations"),
    path(
        "chat/invitations/<uuid:invitation_id>/",
        InvitationAnswerView.as_view(),
        name="chat-invitation-answer",
    ),
    path("inbound/messages/", InboundMessageView.as_view(), name="inbound-messages"),
    path("bot/answer", BotAnswerView.as_view(), name="bot-answer"),
    path("knowledge/articles/", ArticleListView.as_view(), name="knowledge-articles"),
    path("knowledge/articles/<slug:slug>/", ArticleDetailView.as_view(), name="knowledge-article"),
    path("tickets/", TicketListView.as_view(), name="tickets"),
    path("tickets/<str:id>/", TicketDetailView.as_view(), name="ticket"),
    path("tickets/<str:id>/comments/", TicketCommentView.as_view(), name="ticket-comments"),
    path("customers/", CustomerListView.as_view(), name="customers"),
    path("customers/<str:external_id>/", CustomerDetailView.as_view(), name="customer"),
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<str:number>/", OrderDetailView.as_view(), name="order"),
    path("coupons/", CouponListView.as_view(), name="coupons"),
    path("coupons/<str:code>/", CouponDetailView.as_view(), name="coupon"),
    path("coupons/<str:code>/redeem/", CouponRedeemView.as_view(), name="coupon-redeem"),
    path("conversations/", ConversationListView.as_view(), name="conversations"),
    path("conversations/<str:id>/", ConversationDetailView.as_view(), name="conversation"),
    path(
        "conversations/<str:id>/messages/",
        ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path("surveys/responses/", SurveyResponseListView.as_view(), name="survey-responses"),
    path("webhooks/", WebhookListView.as_view(), name="webhooks"),
    path("analytics/summary/", SummaryView.as_view(), name="analytics-summary"),
    path("webhooks/<str:id>/", WebhookDetailView.as_view(), name="webhook"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="chat", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("chat/", chat_page, name="chat"),
    path("widget.js", widget_js, name="widget-js"),
    path("r/<str:token>/", recommendation_click, name="recommendation-click"),
    path("files/<uuid:attachment_id>/<str:signature>/", attachment_file, name="attachment-file"),
    path("desk/tickets/", include("tickets.urls")),
    path("desk/analytics/", include("analytics.urls")),
    path("desk/", include("conversations.urls")),
    path("help/", include("knowledge.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
]

handler400 = "helpdesk.errors.bad_request"
handler403 = "helpdesk.errors.forbidden"
handler404 = "helpdesk.errors.not_found"
handler500 = "helpdesk.errors.server_error"
