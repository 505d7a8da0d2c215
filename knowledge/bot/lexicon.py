"""Hand-written cues: identifiers, handoff requests, emotion, injection, after-sales reasons.

These are the parts of understanding that must not depend on how the
knowledge base happens to be worded: safety (prompt injection), escalation
(a person asked for, an upset customer) and slot values. Patterns are written
for the phenomenon in general (any way of asking for a person, any threat to
complain to an authority), in both languages, and run on ``normalize``d text
(lower case, half-width punctuation).
"""

from __future__ import annotations

import re

ORDER_NUMBER_RE = re.compile(r"(?<![a-z0-9])lm\s?-?(\d{8})(?!\d)", re.IGNORECASE)
TRACKING_NUMBER_RE = re.compile(r"(?<![a-z0-9])sf\s?-?(\d{13})(?!\d)", re.IGNORECASE)
# When the bot has just asked for an order number, "20261103" alone is an answer.
BARE_ORDER_DIGITS_RE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
BARE_TRACKING_DIGITS_RE = re.compile(r"(?<!\d)(\d{13})(?!\d)")


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# --- Asking for a person -------------------------------------------------------------

_ZH_PERSON = r"(?:人工|真人|活人|客服人员|客服专员|人工坐席|坐席|工作人员|客服mm|客服小姐姐|经理|主管|领导|负责人)"
_EN_PERSON = (
    r"(?:human(?:\s+(?:agent|being|person|rep))?s?|real\s+(?:person|people|human|agent)|"
    r"live\s+(?:agent|person|chat|support|operator|rep)|(?:customer\s+)?service\s+"
    r"(?:agent|rep|representative|staff|person)|(?:an?\s+)?agent|representative|"
    r"operator|staff(?:\s+member)?|someone|somebody|a\s+person|actual\s+person|"
    r"manager|supervisor|employee|customer\s+service|support\s+team|people)"
)

HANDOFF_REQUEST = _any(
    # zh: transfer verbs or a bare "人工 / 真人客服"
    r"转\s*(?:接)?\s*(?:到)?\s*(?:人工|真人|客服|坐席|活人)",
    r"(?:接|找|要|叫|换|联系|呼叫|请|让)\s*(?:一下|个|一个|你们的?)?\s*" + _ZH_PERSON,
    r"(?:和|跟|同|与)\s*(?:人工|真人|活人|客服人员|工作人员)\s*(?:客服)?\s*(?:说|聊|谈|沟通|对话|交流)",
    r"(?:不想|不要|别|不用|不和|不跟|受不了).{0,6}(?:机器人|智能客服|自动回复|ai)",
    r"^\s*(?:人工|人工客服|真人客服|人工服务|客服人员|真人)\s*[!.?]*\s*$",
    r"人工客服|人工服务|真人客服|有活人|有真人|人工坐席",
    r"(?:找|来|叫|换)\s*(?:个|一个)?\s*(?:人|活人)\s*(?:来|聊|说话|帮忙|处理)?\s*(?:吧|啊|呀)?\s*[!.?,~]*\s*$",
    # en: talk/speak/chat to a person, transfer/connect me, a bare "agent"
    r"(?:talk|speak|chat|get\s+through|be\s+put\s+through)\s+(?:to|with)\s+(?:a|an|the|your|some|real|actual|\s)*"
    + _EN_PERSON,
    r"(?:transfer|connect|put|pass|escalate|hand)\s+(?:me|this|my\s+\w+)?\s*(?:over\s+)?(?:to|with|through\s+to)\s+(?:a|an|the|your|some|real|\s)*"
    + _EN_PERSON,
    r"(?:want|need|like|get|give|prefer|rather)\s+(?:me\s+)?(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?(?:a|an|the|some|real|\s)*(?:human|real\s+person|live\s+agent|person|agent|representative|operator)\b",
    r"\b(?:human|live|real)\s+(?:agent|person|support|operator|representative|help)\b",
    r"^\s*(?:an?\s+)?(?:agent|human|operator|representative|person)(?:\s+please)?\s*[!.?]*\s*$",
    r"\b(?:not|no\s+more|stop)\s+(?:a\s+|the\s+|this\s+|talking\s+to\s+(?:a\s+|the\s+|this\s+)?)?(?:bot|robot|machine|ai)\b",
    r"\b(?:is\s+there|are\s+there|any)\s+(?:a\s+|any\s+)?(?:humans?|real\s+person|person|people|agents?)\s+(?:i\s+can|to|there|around|available)",
    r"\brather\s+.{0,30}\b(?:human|person|agent)\b",
)

# A question *about* human agents (opening hours, contact details) is an article.
AGENT_AVAILABILITY = _any(
    r"几点|时间|什么时候|哪天|上班|下班|营业|工作日|周末|周六|周日|节假日|春节|电话|邮箱|热线|号码|多久能|排队",
    r"\b(?:hours?|what\s+time|when|open|opening|closing|close|weekends?|saturday|sunday|holidays?|schedule|phone\s+number|email|hotline|working\s+days?|business\s+days?)\b",
)

# Weaker mentions of wanting a person: enough for a VIP, who is put through at once.
PERSON_MENTION = _any(
    _ZH_PERSON,
    r"有人吗|有没有人|是真人吗|是机器人吗|你是机器人|机器人客服|客服人员|找客服|联系客服|客服在吗|客服呢|找个?人",
    r"\b(?:human|person|agent|representative|operator|someone|somebody|staff|manager|"
    r"supervisor|real\s+people)\b",
    r"\b(?:are\s+you|is\s+this)\s+(?:a\s+)?(?:bot|robot|machine|real)\b",
)

# --- Emotion -------------------------------------------------------------------------

# (pattern, weight); a message scoring EMOTION_THRESHOLD or more is handed off.
EMOTION_CUES: list[tuple[re.Pattern[str], float]] = [
    # threats to escalate outside: complaint bodies, lawyers, media, police
    (
        _any(
            r"投诉|(?<!\d)12315(?!\d)|(?<!\d)12345(?!\d)|消协|消费者协会|消保|工商局|市场监管|监管部门|律师|起诉|法院|报警|警察|曝光|媒体|维权|举报|黑猫",
            r"\b(?:complain(?:t|ts|ing)?|consumer\s+(?:association|council|protection|rights)|"
            r"lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal\s+action|court|police|"
            r"chargeback|report\s+(?:you|this|your)|better\s+business\s+bureau|bbb|trading\s+standards|"
            r"regulators?|media|journalists?)\b",
        ),
        2.0,
    ),
    # insults, anger, contempt
    (
        _any(
            r"垃圾|破公司|什么破|骗子|诈骗|欺诈|黑店|坑人|坑钱|坑爹|气死|烦死|烦不烦|恶心|滚蛋|妈的|他妈|tmd|尼玛|混蛋|无耻|"
            r"忍无可忍|受够|太过分|过分了|什么态度|态度太差|服务太差|太差劲|离谱|无语|废物|智障|骗钱",
            r"\b(?:ridiculous|absurd|unacceptable|outrageous|disgusting|disgraceful|pathetic|"
            r"useless|incompetent|worst|furious|angry|pissed|livid|"
            r"scam(?:med|mers?)?|fraud|rip-?off|thieves|liars?|shameful|wtf|shit|"
            r"f\*+k|fuck(?:ing)?|bullshit|idiots?)\b",
            r"\b(?:fed\s+up|sick\s+(?:and\s+tired|of)|had\s+enough|enough\s+is\s+enough|"
            r"waste\s+of\s+(?:time|money)|never\s+(?:again|buying|shop)|took\s+my\s+money|"
            r"stole\s+my|nobody\s+(?:cares|helps|answers|responds)|no\s+one\s+(?:cares|helps|answers|responds))\b",
        ),
        2.0,
    ),
    # distress and anxiety
    (
        _any(
            r"崩溃|急死|急疯|要疯|疯了|抓狂|焦虑|绝望|睡不着|心累|哭了|受不了|撑不住|太失望|失望透顶|寒心|求求",
            r"\b(?:stressed|stressful|anxious|anxiety|panick?(?:ing|ed)?|desperate|devastated|"
            r"frustrat(?:ed|ing)|distraught|worried\s+sick|at\s+my\s+wits'?\s+end|"
            r"losing\s+my\s+mind|going\s+crazy|can'?t\s+(?:deal|take|stand|cope|bear)|"
            r"cannot\s+(?:deal|take|stand|cope|bear)|begging)\b",
        ),
        2.0,
    ),
    # mild negatives: on their own an opinion, with another cue an upset customer
    (
        _any(
            r"太差|差劲|失望|气人|郁闷|无奈|着急|担心|害怕|不靠谱|坑|到底|究竟|能不能解决|解决不了|还没解决|不给解决",
            r"\b(?:terrible|horrible|awful|joke|stupid|rubbish|garbage|nonsense|crap|damn|hell|"
            r"upset|annoyed|annoying|disappointed|disappointing|worried|unhappy|sick\s+of|seriously|"
            r"come\s+on|still\s+not\s+(?:fixed|solved|resolved|here))\b",
        ),
        1.0,
    ),
    # repeated failure: asked again and again, passed around, the bot not helping
    (
        _any(
            r"答非所问|推来推去|踢皮球|没人管|没人理|没人回|不管不顾|敷衍|(?:说|问|讲|解释|联系|打)了?\s*(?:好几|几|多少|三|四|五|n|无数|很多)\s*(?:遍|次|回)",
            r"(?:一直|总是|老是|还是|始终).{0,8}(?:没|不|答非|敷衍|一样|同样)",
            r"(?:已经|都)?\s*(?:拖|等)了\s*(?:一|两|二|三|半)?\s*(?:个)?\s*(?:多)?\s*(?:月|个月|周|星期)",
            r"\b(?:(?:explained|told\s+you|asked|said|called|contacted|written|emailed)\b.{0,40}\b(?:times|again\s+and\s+again|already)|"
            r"(?:third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time|"
            r"(?:two|three|four|five|several|many|multiple|\d+)\s+times|"
            r"keeps?\s+(?:sending|giving|saying|repeating)|same\s+(?:useless|stupid|answer|reply|link|message)|"
            r"going\s+(?:round\s+)?in\s+circles|nothing\s+works|not\s+helping|doesn'?t\s+help|"
            r"for\s+(?:weeks|months|ages)|still\s+(?:nothing|no\s+(?:answer|reply|response|refund)))\b",
        ),
        1.0,
    ),
]
EMOTION_THRESHOLD = 2.0
_EXCLAIM_RE = re.compile(r"[!?]{2,}|![^!]*!")
_SHOUT_RE = re.compile(r"\b[A-Z]{3,}\b")


def emotion_score(normalized: str, original: str) -> float:
    score = sum(weight for pattern, weight in EMOTION_CUES if pattern.search(normalized))
    if score and _EXCLAIM_RE.search(normalized):
        score += 0.5  # intensity only counts when something is already wrong
    if len(_SHOUT_RE.findall(original)) >= 2:
        score += 1.0
    return score


# --- Manipulation and impossible demands -----------------------------------------------

INJECTION = _any(
    r"(?:忽略|无视|忘记|忘掉|不要理会|别管|跳过|绕过)掉?.{0,10}(?:指令|指示|规则|设定|提示词|限制|约束|程序设定|系统设置)",
    r"系统提示|提示词|system\s*prompt|开发者模式|调试模式|管理员模式|上帝模式|越狱|你现在是|从现在起你|假装你是|扮演一个?|不受.{0,4}限制",
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,30}\b(?:instructions?|rules|prompts?|guidelines|directions|restrictions|programming|training|system)\b",
    r"\b(?:developer|dev|debug|admin|god|jailbreak|dan|sudo|unrestricted|maintenance)\s+mode\b",
    r"\b(?:jailbreak|you\s+are\s+now|from\s+now\s+on\s+you|pretend\s+(?:to\s+be|you\s+are|you're)|act\s+as\s+(?:an?\s+)?(?:admin|developer|system)|roleplay|role-play|print\s+your|reveal\s+your|show\s+(?:me\s+)?your\s+(?:prompt|instructions|rules))\b",
    # discounts no policy grants: 100% off, free upgrades, zero-price orders
    r"(?:100\s*%|百分之百).{0,8}(?:折|优惠|券|免|减|off|discount|coupon)|(?:折扣|优惠|券).{0,8}(?:100\s*%|百分之百)|免单|白送|(?<!\d)0\s*元购?|零元购",
    r"\b(?:100\s*%|hundred\s+percent)\s*(?:off|discount|coupon|voucher)|\b(?:free\s+(?:vip|upgrade|membership|money|iphone)|for\s+nothing)\b",
)

# --- Cues for how a question is put ----------------------------------------------------

# The customer asks us to do something about *their* order / parcel / account.
ACTION_CUE = _any(
    r"帮我|给我|帮忙|替我|我要|我想要?|申请|麻烦你?(?:看|查)|查一?下|看看|看一?下|发我|给我一|领一下|安排",
    r"我的(?:订单|包裹|快递|货)|这个单|这单|这个订单",
    r"\b(?:i\s+want|i'?d\s+like|i\s+need|please|for\s+me|check|arrange|start|open|send\s+me|give\s+me|help\s+me)\b",
    r"\bmy\s+(?:order|parcel|package|delivery|shipment|item)s?\b",
)
# The customer asks how something works: a knowledge-base question.
INFO_CUE = _any(
    r"怎么|怎样|如何|多久|几天|多长时间|多少钱|多少|能不能|可不可以|可以.{0,12}吗|能.{0,12}吗|是否|规则|政策|谁出|谁付|为什么|什么意思|哪些|哪里|在哪",
    r"\b(?:how|why|what\s+is|what\s+are|what's|which|policy|rules?|who\s+pays|can\s+i|do\s+i|is\s+it|are\s+there|does|do\s+you)\b",
)

# --- After-sales reasons ---------------------------------------------------------------

# Checked in this order: the first family that matches wins.
REASON_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "changed_mind",
        _any(
            r"买错|拍错|下错|选错|点错|订错|买多了|拍多了|重复(?:购买|下单|买)",
            r"\b(?:ordered|bought|chose|picked|selected|purchased)\s+(?:the\s+|a\s+)?wrong\b|"
            r"\bby\s+mistake\b|\baccidentally\s+(?:ordered|bought|purchased)\b",
        ),
    ),
    (
        "wrong_or_missing_item",
        _any(
            r"发错|错发|寄错|送错|发成|给错|拿错|颜色不对|型号不对|款式不对|规格不对|不是我(?:买|要|订|下单)的|少了|少发|漏发|缺少|缺了|少件|少个|少一|没有?.{0,4}配件|配件.{0,4}(?:少|缺|没)",
            r"\b(?:sent|shipped|delivered|gave|received|got|came\s+(?:in|with)|arrived\s+(?:in|with)|is|was)\s+(?:me\s+)?(?:the\s+|a\s+)?(?:wrong|incorrect|different)\b",
            r"\bwrong\s+(?:colou?r|size|item|product|model|version|one|thing|order)\b|\bmissing\b|\bnot\s+included\b|\b(?:isn't|wasn't|weren't|not)\s+in\s+the\s+(?:box|package|parcel)\b|\bincomplete\b",
        ),
    ),
    (
        "damaged_in_transit",
        _any(
            r"压坏|压扁|压碎|压烂|碎了|碎掉|裂了|裂开|裂缝|有裂|破损|磕坏|磕碰|磕了|凹陷|凹了|变形|摔坏|外壳.{0,3}(?:裂|碎|破|坏|凹)|(?:外箱|箱子|盒子|包装).{0,4}(?:破|烂|坏|扁)|运输.{0,4}(?:坏|损)|(?:收到|到货|拆开|打开).{0,8}(?:就坏|是坏|坏的|碎|裂|破)",
            r"\b(?:cracked|dented|smashed|crushed|shattered|scratched|bent|squashed)\b|"
            r"\b(?:arrived|came|delivered|received\s+it|got\s+it|was)\s+(?:already\s+)?(?:broken|damaged|cracked|smashed)\b|"
            r"\bdamaged\b|\bbroken\s+(?:on|upon)\s+(?:arrival|delivery)\b|\bin\s+transit\b",
        ),
    ),
    (
        "defective",
        _any(
            r"坏了|坏掉|故障|不工作|不能用|用不了|没法用|没声音?|无声|不响|漏水|漏电|不加热|不制热|充不进|不充电|充不上|开不了?机|开不开|死机|失灵|异响|噪音|不转|断电|连不上|质量问题|有问题|毛病|失效|不亮|黑屏|发烫",
            r"\b(?:broken|broke|defective|faulty|fault|not\s+working|doesn'?t\s+work|does\s+not\s+work|"
            r"stopped\s+working|won'?t\s+(?:turn\s+on|charge|work|heat|start|connect|power)|"
            r"no\s+sound|leak(?:s|ing)?|malfunction(?:ing|s)?|dead|overheat(?:s|ing)?|noisy|"
            r"quality\s+(?:issue|problem)|problem\s+with|issue\s+with)\b",
        ),
    ),
    (
        "changed_mind",
        _any(
            r"不想要|不要了|不喜欢|不合适|用不上|用不到|不需要|没用|后悔|便宜|降价|无理由|改主意|不太满意|不满意",
            r"\b(?:changed?\s+my\s+mind|change\s+of\s+mind|don'?t\s+(?:need|want|like)|do\s+not\s+(?:need|want|like)|"
            r"no\s+longer\s+(?:need|want)|not\s+needed|cheaper|don'?t\s+need\s+it|doesn'?t\s+fit|"
            r"too\s+(?:big|small|large|expensive)|not\s+what\s+i\s+(?:expected|wanted)|regret|"
            r"need\s+it\s+anymore|want\s+it\s+anymore|unwanted|not\s+satisfied|dissatisfied)\b",
        ),
    ),
    ("other", _any(r"其他|其它|别的原因", r"\bother\b|\bsomething\s+else\b")),
]


def reason_in(normalized: str) -> str | None:
    for value, pattern in REASON_PATTERNS:
        if pattern.search(normalized):
            return value
    return None


# --- What each intent's request sounds like ------------------------------------------
#
# An intent acts for the customer, so its message has to ask for that action;
# without this wording (and without an order or tracking number) a message is
# a question for the knowledge base ("收到的东西坏了" describes a problem, "我要
# 退货" asks for a return).

INTENT_CUES: dict[str, re.Pattern[str]] = {
    "order_status": _any(
        r"状态|发货了?没|发了没|发货了吗|发出了?吗|付款成功|支付成功|成功了?吗|取消了|被取消|完成了?没|完成了吗|处理到|处理了吗|待发货|到哪一?步|进度|怎么还没发|还没发货",
        r"\b(?:status|shipped\s+yet|been\s+shipped|has\s+(?:it|my\s+order|order)\b.{0,20}\bshipped|"
        r"went\s+through|go\s+through|paid\s+successfully|been\s+paid|payment\s+go\s+through|"
        r"(?:was|been|is|got)\s+(?:it\s+)?(?:cancell?ed)|cancell?ed\s*\?|was\s+\S+\s+cancell?ed|completed|being\s+processed|processed|processing|"
        r"awaiting\s+shipment|progress|check\s+(?:my\s+)?order|order\s+(?:status|update))\b",
    ),
    "logistics_tracking": _any(
        r"到哪了|到哪里了|到哪儿|到哪个|现在在哪|在哪了|(?:包裹|快递|货|东西|订单|件).{0,6}(?:到哪|在哪)|(?:什么时候|啥时候|几号|哪天).{0,4}(?:到|送达|送到|寄到|能收到)|送到了?吗|派送|派件|还在路上|预计.{0,4}到|物流到|查物流|查快递|查.{0,4}物流|查.{0,4}快递",
        r"\b(?:where(?:'s|\s+is)\s+it\b|where(?:'s|\s+is|\s+are)?\s+(?:my|the|our)\s+(?:parcel|package|delivery|order|shipment|stuff|item)s?|"
        r"where\s+.{0,30}\b(?:parcel|package|delivery|shipment|order|stuff)\s+(?:is|at|now|right\s+now)|"
        r"when\b.{0,40}\b(?:arrive|be\s+delivered|get\s+here|come|reach|deliver\s+it)|"
        r"out\s+for\s+delivery|eta|on\s+(?:the|its)\s+way|in\s+transit|track\s+(?:it|this|sf|order|parcel|package)|"
        r"update\s+on\s+(?:my|the)\s+(?:delivery|order|parcel|package|shipment)|"
        r"delivery\s+(?:status|update)|arriv(?:e|ing)\s+(?:today|tomorrow|soon))\b",
    ),
    # after-sales wording; a request also needs ACTION_CUE or an order number (see Scorer.cues)
    "after_sales_request": _any(
        r"退货|退款|换货|退了|要退|想退|退掉|寄修|维修|售后|退回|换一个|换新|修一下|返修|退换|申请.{0,6}(?:退|换|修)|寄回",
        r"\b(?:return|refund|exchange|repair(?:ed)?|send\s+(?:it|them)\s+back|send\s+back|replace|"
        r"replacement|after-?\s?sales|money\s+back|fix(?:ed)?)\b",
    ),
    "coupon_claim": _any(
        r"领|发我|发给我|给我.{0,6}(?:券|红包|优惠|折扣)|有没有.{0,8}(?:券|红包|优惠|折扣码)|有.{0,6}券|(?:新人|新用户|首单).{0,6}(?:券|红包|优惠|福利|礼)|送.{0,4}券|要.{0,4}(?:券|红包)|来.{0,4}(?:券|红包)",
        r"\b(?:claim|grab|get\s+(?:a|an|some|any|me\s+a)\s+(?:coupon|voucher|discount|promo)|"
        r"give\s+me\s+(?:a|an|some)|send\s+me\s+(?:a|an|some)|(?:any|some)\s+(?:coupons?|vouchers?|promo|discount|deals?)|"
        r"do\s+you\s+have\s+(?:any|a)|first\s+(?:order|purchase)|new\s+(?:customer|user|member)|welcome\s+(?:coupon|offer|gift)|"
        r"coupons?\s+for\s+me|(?:want|like|need)\s+(?:a|an|some)\s+(?:coupon|voucher|discount))\b",
    ),
    "greeting": _any(
        r"^(?:\W|hi|hello)*(?:你好|您好|在吗|在不在|哈喽|嗨|早上好|下午好|晚上好|早安|午安|晚安|hello|hi|hey|客服你好|有人吗)",
        r"^\W*(?:hi+|hello+|hey+|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day)|morning|evening|anyone\s+there|are\s+you\s+there)\b",
    ),
    "thanks_goodbye": _any(
        r"谢|多谢|感谢|拜拜|再见|没事了|没问题了|没有别的|没别的|辛苦|好的|明白了|知道了|ok了|解决了",
        r"(?:^|[.!,]\s*)(?:got\s+it|understood|great|perfect|ok(?:ay)?)\W*$|^\W*(?:got\s+it|ok(?:ay)?|alright|great|perfect)\b",
        r"\b(?:thanks?|thank\s+you|thx|ty|cheers|bye|goodbye|see\s+you|that'?s\s+all|no\s+more\s+questions|"
        r"appreciate|that\s+(?:solved|helped|helps)|all\s+good|have\s+a\s+nice)\b",
    ),
}

# Words that make a coupon message about how coupons work, not a claim.
COUPON_WORD = _any(
    r"券|红包|优惠|折扣|福利|礼包|码",
    r"\b(?:coupons?|vouchers?|discounts?|promo(?:tion)?s?|codes?|deals?|offers?)\b",
)
COUPON_RULES = _any(
    r"怎么用|使用|用不了|叠加|一起用|同时用|过期|有效期|退回|还能回来|补发|门槛|运费|(?:在哪|哪里).{0,4}(?:看|找|查)|找不到|不能用|不可用",
    r"\b(?:use|using|used|apply|applied|stack|combine|together|expire[ds]?|expiry|valid|validity|"
    r"not\s+applicable|reissue|back|minimum|threshold|where\s+(?:do|can)\s+i\s+(?:find|see))\b",
)
