"""A small bilingual thesaurus of the shop's domain.

Customers rarely use the knowledge base's words: "register" for "create an
account", "多长时间" for "多久", "寄到杭州" for "寄到成都". Each concept below
lists ways of saying one thing in Chinese and in English; a text gets a
``~concept`` term for each concept it mentions, next to its own words, so
paraphrases meet on the concept. Because concepts are shared by both
languages, the Chinese and English versions of an article also lend each
other their concepts (see ``Engine.build``).

Entries are general e-commerce / home-appliance vocabulary, not sentences:
Chinese alternatives are matched as substrings, English ones as whole words
(a trailing ``*`` allows any ending).
"""

from __future__ import annotations

import re
from collections import Counter

_CONCEPTS: dict[str, tuple[str, str]] = {
    "cost": (
        "多少钱|费用|收费|贵|价钱|价格|花多少|要钱|付费|加钱|另收",
        "cost*|fee|fees|expensive|pric*|how much|surcharg*|extra charge*|pay extra|get charged|charge me|charged for",
    ),
    "limit": (
        "最多|上限|限制|限购|最多能|最少|至少",
        "limit*|maximum|max|up to|at most|at least|minimum",
    ),
    "big_sale": (
        "双11|双十一|双 11|618|大促|促销期间|黑五|年货节",
        "double 11|double eleven|singles day|618|big sale*|black friday|peak season",
    ),
    "first_use": (
        "第一次|首次|初次|刚买|新买|新的|开箱|全新",
        "first time|first use|before using|brand new|new one|just bought|unbox*",
    ),
    "opened": (
        "拆封|拆开|用过|使用过|开封|拆了|打开了|试用",
        "opened|used|unboxed|unsealed|tried it|worn",
    ),
    "where": ("到哪|在哪|哪里|去哪|什么地方|位置", "where|whereabouts|location"),
    "use": (
        "怎么用|如何用|使用|用券|用法",
        "apply|applied|applying|use|using|usage|enter (a |the )?code",
    ),
    # account and ordering
    "shop": ("商城|店铺|网店|官网|你们店|本店|平台|网站|app", "store|shop|website|site|app|online"),
    "account": (
        "注册|账号|帐号|账户|帐户|游客|会员账号",
        "register*|registration|sign up|signup|account*|guest",
    ),
    "buy": (
        "下单|购买|买东西|买了|买的|拍下|订购|结算",
        "buy*|bought|purchas*|place an order|checkout|check out|order something",
    ),
    "pay": ("付款|支付|付钱|扣款|扣钱|扣了|付了", "pay|pays|paid|paying|payment*|charg*"),
    "pay_method": (
        "支付宝|微信支付|微信|银联|信用卡|借记卡|银行卡|储蓄卡|visa|mastercard|jcb|paypal|货到付款|现金|转账",
        "alipay|wechat|credit card*|debit card*|bank card*|card|cards|visa|mastercard|jcb|paypal|cash|unionpay|bank transfer",
    ),
    "installment": ("分期|花呗|月供", "installment*|instalment*|pay later|monthly payment*"),
    "pay_fail": (
        "支付失败|付款失败|扣款失败|不成功|没成功|付不了|支付不了|付不出|被拒|拒绝|失败|扣.{0,3}两次|重复扣|多扣|扣.{0,3}两遍|未付款|待付款|显示未付|没付成功|扣了钱|扣钱了",
        "declin*|fail*|reject*|charged twice|double charg*|unpaid|not paid|error paying",
    ),
    "presale": (
        "预售|定金|尾款|订金",
        "pre-sale|presale|pre-order*|preorder*|deposit*|balance|remaining payment",
    ),
    "deadline": (
        "多久内|超时|30分钟|时限|限时|截止",
        "within|time limit|deadline|minutes|expire before",
    ),
    # order changes
    "modify": (
        "修改|改地址|更改|改一下|改成|能改|怎么改|换地址|写错|填错|下错",
        "chang*|modif*|edit*|updat*|amend*|correct*|wrong address",
    ),
    "address": ("地址|收货人|收件人", "address*|recipient"),
    "add_item": (
        "加购|加一件|再加|追加|合并订单|加.{0,3}(?:一件|一个|东西|商品)|再买一",
        "add (one |another |an? |some |extra )?(more )?(item|thing|product)s?|add another|add more|combine orders",
    ),
    "cancel": ("取消|撤销|撤单|不想买了", "cancel*"),
    "refuse": ("拒收|拒签", "refus*|reject the (delivery|parcel|package)"),
    # shipping
    "shipping_fee": (
        "运费|邮费|包邮|免运费|快递费|配送费|邮资|免邮",
        "shipping fee*|shipping cost*|shipping charge*|postage|delivery fee*|delivery charge*|free shipping|free delivery|pay for shipping|how much is shipping",
    ),
    "dispatch": (
        "发货|出库|发出|寄出|当天发|次日发|几点前|截单|今天发|明天发",
        "ship|ships|shipped|shipping out|dispatch*|same day|leave the warehouse|send it out|sent out|today|tomorrow|tonight",
    ),
    "clock_time": (
        "\\d+点|\\d+:\\d\\d|上午|下午|晚上|凌晨|中午|半夜",
        "\\d+ ?(am|pm)|\\d+:\\d\\d|morning|afternoon|evening|night|tonight|noon|midnight|o'clock",
    ),
    "delivery_time": (
        "几天到|多久到|多久能到|几天能到|时效|送达|到货|什么时候到|多久收到|哪天到",
        "deliver*|arriv*|how long .{0,20}(take|deliver|arrive)|get here|receive it|delivery time*",
    ),
    "duration": (
        "多久|多长时间|几天|多少天|工作日|什么时候|几个小时|多长|\\d+\\s*天|\\d+\\s*个?小时|时效",
        "how long|how many days|how much time|how many hours|when|days|hours|weeks",
    ),
    "international": (
        "国外|海外|境外|国际|美国|日本|澳大利亚|澳洲|英国|加拿大|新加坡|韩国|德国|法国|香港|澳门|台湾|港澳台|关税|进口|出国",
        "international*|overseas|abroad|outside china|australia|united states|america|usa|uk|britain|japan|canada|singapore|korea|germany|france|europe|hong kong|macau|macao|taiwan|customs|import dut*|duties|dut* and tax*|foreign country",
    ),
    "domestic_city": (
        "北京|上海|广州|深圳|杭州|成都|重庆|武汉|南京|苏州|天津|西安|长沙|郑州|青岛|厦门|宁波|合肥|福州|昆明|沈阳|大连|哈尔滨|济南|东莞|佛山|无锡|省内|外省|省份|城市",
        "beijing|shanghai|guangzhou|shenzhen|hangzhou|chengdu|chongqing|wuhan|nanjing|suzhou|tianjin|xi'?an|changsha|zhengzhou|qingdao|xiamen|ningbo|hefei|fuzhou|kunming|shenyang|dalian|harbin|jinan|dongguan|foshan|wuxi|province*|city|cities",
    ),
    "remote_area": (
        "新疆|西藏|青海|内蒙|偏远",
        "xinjiang|tibet|qinghai|inner mongolia|remote area*",
    ),
    "express": (
        "加急|顺丰|次日达|特快|快一点",
        "express|expedit*|next-day|next day|faster shipping|rush",
    ),
    "weekend": (
        "周末|周六|周日|星期六|星期天|星期日|节假日|假期|法定假日|春节|过年",
        "weekend*|saturday*|sunday*|holiday*|spring festival|chinese new year",
    ),
    "track": (
        "物流|快递单号|运单号|单号|追踪|跟踪|查快递|查物流|物流信息",
        "track*|waybill|shipment status|courier status",
    ),
    "courier": (
        "快递公司|哪家快递|什么快递|顺丰|快递员|承运|快递小哥",
        "courier*|carrier*|sf express|shipping company|delivery company|logistics company|which express",
    ),
    "not_received": (
        "没收到|未收到|没有收到|没拿到|没有拿到|没见到|丢件|丢失|弄丢|显示签收|显示已签收|签收了|没动|不动了|没更新|没有更新|停滞|寄丢|找不到包裹",
        "not received|never (got|received|arrived|came)|didn'?t (get|receive|arrive)|haven'?t (got|received)|lost|hasn'?t moved|not moving|no movement|no update*|hasn'?t updated|stuck in transit|says delivered|marked (as )?delivered|shows delivered|nothing (at|arrived)|not at my door|stolen",
    ),
    # returns
    "damaged": (
        "破损|压坏|压扁|坏的|碎了|裂了|裂开|有裂|摔坏|外箱|磕碰|凹陷|变形",
        "damag*|broken|crack*|crush*|dent*|smash*|shatter*",
    ),
    "wrong_item": (
        "发错|错发|寄错|送错|不是我买的|不是我要的|少了|漏发|缺少|缺件|少件|少发|不一样",
        "wrong (item|product|colou?r|size|model|one|thing)|different (product|item|thing) (from|than)|(a|the) different (product|item)|missing|not what i ordered|instead of|incomplete",
    ),
    "return": (
        "退货|退回|寄回|七天无理由|7天无理由|无理由|退掉|退了|退吗|能退|可以退|退不退|可退|退换",
        "return*|sen[dt] (it |them )?back|sending back|no-reason",
    ),
    "refund": (
        "退款|退钱|到账|返还|钱退|退到",
        "refund*|money back|reimburs*|get my money|hits my",
    ),
    "exchange": (
        "换货|换新|换颜色|换成|换款|换一个|调换|更换|换个",
        "exchang*|swap*|replac*|switch (it )?for",
    ),
    "colour": (
        "颜色|白色|黑色|红色|蓝色|灰色|粉色|绿色|银色|金色|款式|型号|尺寸|规格|大小",
        "colou?rs?|white|black|grey|gray|blue|pink|green|silver|model*|style*|size*|version*",
    ),
    "price_diff": (
        "差价|补差|多退少补|价差|更贵|更便宜|补钱",
        "difference|price gap|costs more|more expensive|cheaper|pay the difference",
    ),
    # warranty and repairs
    "warranty": ("保修|质保|三包|保修卡|保修期|包修", "warrant*|guarantee*"),
    "out_of_warranty": (
        "保外|过保|过了保修|超过保修|保修期外|保修过期|过了质保|出了保修|保修到期|不在保修|年前买|年前买的",
        "out of warranty|out-of-warranty|outside (of )?the warranty|warranty (has )?expired|expired warranty|after the warranty|no longer (under|covered)|not covered anymore|years ago|paid repair*|pay to fix|pay for (the )?repair*",
    ),
    "in_warranty": (
        "保修期内|在保修期|保内|质保期内|在保",
        "under warranty|in warranty|within (the )?warranty|covered by (the )?warranty|warranty repair*",
    ),
    "repair": (
        "维修|修理|寄修|修好|修不好|返修|修一下|能修|修吗|去修",
        "repair*|fix|fixed|fixing|mend*|servic*",
    ),
    "accident": (
        "摔|进水|泡水|人为|掉地|掉了|磕",
        "drop*|fell|fall|water damage|spill*|accident*|liquid|wet",
    ),
    "spare_part": (
        "配件|零件|单买|单独买|单独购买|补买|补配|单只|买一只|买一个|充电仓|耳帽|充电线",
        "spare part*|replacement part*|separately|single earbud|one earbud|charging case|ear tips?|accessor*|cable",
    ),
    "fee_check": ("检测|检测费|诊断", "inspect*|diagnos*|check fee|checking fee|assessment"),
    # products
    "robot_vacuum": (
        "扫地机|扫地机器人|扫地|拖地|机器人",
        "robot vacuum*|vacuum*|robot*|roomba|mop*",
    ),
    "wifi": (
        "wifi|wi-fi|无线网|网络|配网|联网|路由器|5g|2.4g|热点",
        "wifi|wi-fi|wireless|network*|router*|5 ?ghz|5g|2\\.4 ?ghz|internet|hotspot",
    ),
    "dock": ("充电座|底座|回充|基站", "dock*|base station|charging base|home base"),
    "map": ("建图|地图|禁区|区域", "map|maps|mapping|no-go|zones?"),
    "error_code": (
        "e1|e2|e3|e4|e5|报错|错误码|故障码|错误代码|代码",
        "e1|e2|e3|e4|e5|error*|code|codes",
    ),
    "stuck": ("卡住|卡在|被卡|困住|缠绕|缠住", "stuck|trapped|tangled|jammed"),
    "suction": (
        "吸力|吸不干净|吸不起来|扫不干净|清洁效果",
        "suction|pick(s|ing)? up|picking up|weak suction|not clean(ing)? (well|properly)|leaves dirt",
    ),
    "purifier": ("净化器|空气净化|甲醛|pm2.5", "purifier*|air clean*|formaldehyde|pm2\\.5"),
    "filter": ("滤网|滤芯|hepa|过滤", "filter*|hepa"),
    "light": ("灯|指示灯|红灯|亮了|闪|灯环|光圈", "light*|led|indicator*|lamp|ring|blink*|flash*"),
    "wash": ("水洗|清洗|洗|冲洗|清理|清洁", "wash*|rins*|clean*"),
    "reset": ("复位|重置|恢复出厂|出厂设置|重启", "reset*|factory|restart*|reboot*"),
    "speaker": ("音箱|音响|智能音箱|小音箱", "speaker*"),
    "voice": (
        "语音|唤醒|没反应|不理|不听|叫它|叫音箱|听不懂|指令",
        "voice|wake word|respond*|listen*|hear*|ignor*|commands?|won'?t answer",
    ),
    "bluetooth": (
        "蓝牙|配对|连接|连不上|连",
        "bluetooth|(?<!new )(?<!a )pair(ing|ed|s)?(?! of)|connect*|link",
    ),
    "language_setting": ("英文|英语|中文|语言", "english|chinese|language"),
    "kettle": ("水壶|热水壶|烧水壶|电水壶|电热水壶|烧水", "kettle*|boil*"),
    "descale": (
        "水垢|除垢|柠檬酸|白醋|水碱|去垢",
        "limescale|descal*|scale|citric|vinegar|mineral deposit*",
    ),
    "auto_off": (
        "断电|自动断电|干烧|跳闸|不加热|自己关|关机|空烧",
        "turn* off|switch* off|shut* off|cut* out|boil dry|empty|won'?t heat|stopped heating|auto-off|power* off",
    ),
    "keep_warm": ("保温", "keep warm|keep(s|ing)? .{0,10}warm|warm function"),
    "earbuds": ("耳机|耳塞|buds|耳朵", "earbud*|earphone*|headphone*|buds|ear pods?|in-ear"),
    "device": (
        "手机|电脑|平板|ipad|iphone|笔记本|设备|安卓|苹果",
        "phone|phones|laptop*|tablet*|ipad*|iphone*|computer*|devices?|mac|macbook|android|pc",
    ),
    "battery": (
        "电池|续航|电量|用多久|听多久",
        "batter*|battery life|hours of|last(s)?|playtime|play time",
    ),
    "charge": ("充电|充不进|充不上|充满", "charg*"),
    "one_side": (
        "一边|单边|左边|右边|左耳|右耳|一只",
        "one side|left|right|only one|one earbud|single side",
    ),
    "no_sound": (
        "没声音|没有声音|无声|声音小|不出声|哑",
        "no sound|silent|no audio|can'?t hear|quiet|sound cuts",
    ),
    "latency": ("延迟|卡顿|不同步", "delay*|lag*|latency|out of sync"),
    "noise_cancel": ("降噪|通透", "noise cancel*|anc|transparency"),
    "touch": ("触控|触摸|点按|双击|长按", "touch*|tap*|double-tap|gesture*|controls?"),
    # coupons and points
    "coupon": (
        "优惠券|券|红包|优惠码|折扣码|代金券|满减券|抵用券",
        "coupon*|voucher*|promo code*|promo|discount code*|promotion*",
    ),
    "not_usable": (
        "用不了|不可用|不能用|不适用|无法使用|不让用|用不上|显示不可|不满足",
        "not applicable|can'?t use|cannot use|unable to use|won'?t (apply|work)|invalid|not valid|doesn'?t apply|not eligible|ineligible",
    ),
    "min_spend": (
        "满减|门槛|满\\d+|满多少|减\\d+",
        "minimum spend|min(imum)? order|spend|threshold|\\d+ off",
    ),
    "stack": (
        "叠加|一起用|同时用|同时使用|两张|合并使用|一起使用|同时",
        "stack*|combin*|together|two coupons|at the same time|multiple coupons|with the",
    ),
    "expire": (
        "过期|有效期|失效|到期|期限|多久有效|能用多久",
        "expir*|validity|valid|lapse*|how long can i use",
    ),
    "reissue": (
        "补发|返还|还能回来|恢复|退还|退回|还给我|重新发",
        "reissu*|give it back|restor*|get .{0,15}back|returned to|re-?send|back after",
    ),
    "membership": (
        "会员|等级|银卡|金卡|铂金|黑卡|vip|升级|降级|成长值",
        "membership|member*|level*|tier*|silver|gold|platinum|vip|upgrad*|downgrad*",
    ),
    "points": ("积分", "points|point"),
    "review": ("评价|晒图|评论|好评|追评|带图", "review*|rating*|comment*|photo*"),
    "points_use": (
        "抵现|抵扣|兑换|积分商城|抵钱|抵多少|当钱|花积分",
        "redeem*|redemption|worth|points mall|convert*|spend (my )?points|use (my )?points",
    ),
    "transfer": (
        "转给|转赠|送给|赠送|转让",
        "transfer*|give (it )?to|gift (it )?to|send (it )?to a friend|share",
    ),
    # account security
    "password": (
        "密码|锁|锁定|冻结|登录|登不上|登陆|登入",
        "password*|locked|lock*|log ?in|sign ?in|login|frozen",
    ),
    "verify_code": (
        "验证码|短信码|动态码|校验码",
        "verification code*|otp|sms code*|one-time code|code",
    ),
    "phone_number": (
        "手机号|号码|换号|停机|手机卡|sim|电话号",
        "phone number*|number|sim|mobile|cell",
    ),
    "email": ("邮箱|email|邮件", "email*|e-mail*|mail"),
    # invoices
    "invoice": (
        "发票|开票|抬头|税号|增值税|专票|普票|电子发票|纸质发票",
        "invoic*|fapiao|vat|tax id|tax number|receipt*",
    ),
    "company": ("公司|企业|单位|对公", "compan*|business|corporate|enterprise"),
    "invoice_fix": (
        "开错|填错|写错|换开|冲红|重开|改开|改成|换成|修改",
        "wrong|correct*|reissu*|re-issue|chang*|amend*|fix",
    ),
    "forgot": (
        "忘记|忘了|漏了|没勾|没选|补开",
        "forgot*|forget|missed|didn'?t (ask|select|tick)|afterwards|later",
    ),
    # privacy
    "delete_account": (
        "注销|删除账号|销户|删号|注销账号|关闭账号",
        "delete .{0,10}account|close .{0,10}account|deactivat*|remove .{0,10}account|cancel .{0,10}account|account deletion|permanently",
    ),
    "personal_data": (
        "个人数据|个人信息|隐私|导出|数据",
        "personal data|personal information|privacy|my data|gdpr|data",
    ),
    "marketing": (
        "营销短信|广告|推送|退订|骚扰短信|促销短信",
        "marketing|unsubscrib*|promotional|spam|text messages|sms messages|newsletter*",
    ),
    # price protection, gift cards
    "price_drop": (
        "降价|保价|差价|价格保护|便宜了|价格下降|跌价",
        "price drop*|price protection|price difference|price (has |went )?(dropped|fell|fallen|went down)|dropped in price|cheaper|went down|price cut|reduced",
    ),
    "flash_sale": (
        "秒杀|闪购|限时抢购|直播价|拼团",
        "flash sale*|flash deal*|lightning deal*|limited-time",
    ),
    "gift_card": (
        "礼品卡|购物卡|储值卡|礼金卡|卡券",
        "gift card*|gift-card*|store card*|gift certificate*",
    ),
    "bind": ("绑定|激活|充值|兑换", "redeem*|activat*|bind|add .{0,10}card|top up"),
    # support
    "service": (
        "客服|人工|工作人员",
        "customer service|support|agent*|human*|staff|representative*",
    ),
    "hours": (
        "上班|下班|在线|工作时间|几点|营业|服务时间|时间",
        "hours|open|opening|closing|what time|available|availability|working time",
    ),
    "contact": (
        "电话|热线|邮箱|联系方式|怎么联系",
        "phone|hotline|email|contact*|call you|reach you",
    ),
}


def _compile(zh: str, en: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    english = []
    for alternative in en.split("|"):
        alternative = alternative.strip()
        if alternative.endswith("*"):
            english.append(alternative[:-1] + r"[a-z'\-]*")
        else:
            english.append(alternative)
    return (
        re.compile(zh),
        re.compile(r"(?<![a-z0-9])(?:" + "|".join(english) + r")(?![a-z0-9])"),
    )


CONCEPTS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    name: _compile(zh, en) for name, (zh, en) in _CONCEPTS.items()
}


def concept_spans(normalized: str) -> dict[str, list[str]]:
    """For each concept the text mentions, the pieces of text that mention it.

    A mention inside a longer mention of another concept does not count: in
    "delivery company" the courier is meant, not a company invoice; in "hasn't
    updated" a stuck parcel, not a change of order."""
    matches: list[tuple[int, int, str]] = []
    for name, (zh, en) in CONCEPTS.items():
        for pattern in (zh, en):
            matches.extend((m.start(), m.end(), name) for m in pattern.finditer(normalized))
    inside: set[tuple[int, int, str]] = set()
    # By start, longest first: a match's containers all come before it and
    # still reach its start, so only those "open" matches need comparing (a
    # long article body has hundreds of matches, and few overlap).
    open_: list[tuple[int, int, str]] = []
    for match in sorted(matches, key=lambda m: (m[0], -m[1])):
        start, end, name = match
        open_ = [o for o in open_ if o[1] >= start]
        if any(other != name and end <= e and (e - s) > (end - start) for s, e, other in open_):
            inside.add(match)
        open_.append(match)
    found: dict[str, list[str]] = {}
    for match in matches:
        if match not in inside:
            start, end, name = match
            found.setdefault("~" + name, []).append(normalized[start:end])
    return found


def concepts(normalized: str) -> Counter:
    """``~concept`` terms of a normalised text, counted (capped at 3 per concept)."""
    found: Counter = Counter()
    for name, (zh, en) in CONCEPTS.items():
        count = len(zh.findall(normalized)) + len(en.findall(normalized))
        if count:
            found["~" + name] = min(count, 3)
    return found
