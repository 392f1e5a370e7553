"""Chinese call text -> tone-numbered pinyin for espeak-ng's cmn-latn-pinyin voice.

``请A001号到3号窗口办理`` becomes ``请A零零一号到三号窗口办理`` (ticket digits read one by
one, the window read as a number), then pinyin from a small built-in table. Nothing
here renders sound (hall/voice.py does).
"""

from __future__ import annotations

import logging
import re
import threading

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "请{number}号到{window}号窗口办理"
_SYLLABLE_RE = re.compile(r"[a-z]+[1-5]")

DIGITS = "零一二三四五六七八九"

# ---------------------------------------------------------------------------
# Chinese -> pinyin
# ---------------------------------------------------------------------------

# Latin letters as they are commonly read aloud in Mandarin (诶 比 西 迪 ...),
# written as pinyin syllables the cmn-latn-pinyin voice accepts.  "kiu" (Q) is
# not standard pinyin, but espeak-ng reads it as k+iou, which is exactly the
# sound wanted.  ü is written "v" (lv4), as espeak-ng expects.
LETTER_PINYIN: dict[str, str] = {
    "A": "ei1",
    "B": "bi4",
    "C": "xi1",
    "D": "di4",
    "E": "yi4",
    "F": "ai2 fu5",
    "G": "ji4",
    "H": "ai2 qi1",
    "I": "ai4",
    "J": "jie4",
    "K": "kai4",
    "L": "ai2 le5",
    "M": "ai2 mu5",
    "N": "en1",
    "O": "ou1",
    "P": "pi4",
    "Q": "kiu1",
    "R": "a1 er3",
    "S": "ai2 si5",
    "T": "ti4",
    "U": "you1",
    "V": "wei1",
    "W": "da2 bu5 liu3",
    "X": "ai2 ke4 si5",
    "Y": "wai4",
    "Z": "zei4",
}

# Single characters: "字:pinyin" pairs.  Default (most common) readings; the
# polyphones that matter are fixed up by _PHRASES below.
_CHARS = """
零:ling2 〇:ling2 一:yi1 二:er4 两:liang3 三:san1 四:si4 五:wu3 六:liu4 七:qi1 八:ba1
九:jiu3 十:shi2 百:bai3 千:qian1 万:wan4 幺:yao1 第:di4 点:dian3 号:hao4 请:qing3
到:dao4 窗:chuang1 口:kou3 办:ban4 理:li3 前:qian2 往:wang3 综:zong1 合:he2 受:shou4
柜:gui4 台:tai2 服:fu2 务:wu4 业:ye4 咨:zi1 询:xun2 取:qu3 领:ling3 证:zheng4 件:jian4
区:qu1 楼:lou2 层:ceng2 室:shi4 位:wei4 顾:gu4 客:ke4 市:shi4 民:min2 您:nin2 的:de5
好:hao3 重:zhong4 复:fu4 叫:jiao4 再:zai4 次:ci4 遍:bian4 等:deng3 候:hou4 准:zhun3
备:bei4 注:zhu4 意:yi4 过:guo4 停:ting2 止:zhi3 暂:zan4 缓:huan3 谢:xie4 欢:huan1
迎:ying2 光:guang1 临:lin2 大:da4 厅:ting1 政:zheng4 中:zhong1 心:xin1 排:pai2 队:dui4
码:ma3 身:shen1 份:fen4 材:cai2 料:liao4 社:she4 保:bao3 医:yi1 公:gong1 积:ji1 金:jin1
税:shui4 不:bu4 动:dong4 产:chan3 登:deng1 记:ji4 户:hu4 籍:ji2 出:chu1 入:ru4 境:jing4
车:che1 驾:jia4 管:guan3 婚:hun1 姻:yin1 人:ren2 预:yu4 约:yue1 老:lao3 年:nian2
优:you1 先:xian1 绿:lv4 色:se4 通:tong1 道:dao4 自:zi4 助:zhu4 东:dong1 南:nan2 西:xi1
北:bei3 左:zuo3 右:you4 边:bian1 侧:ce4 上:shang4 下:xia4 内:nei4 外:wai4 在:zai4
是:shi4 有:you3 和:he2 或:huo4 及:ji2 与:yu3 至:zhi4 去:qu4 来:lai2 进:jin4 行:xing2
银:yin2 开:kai1 发:fa1 票:piao4 企:qi3 个:ge4 体:ti3 工:gong1 商:shang1 营:ying2
执:zhi2 照:zhao4 交:jiao1 费:fei4 缴:jiao3 收:shou1 付:fu4 款:kuan3 查:cha2 档:dang4
案:an4 房:fang2 屋:wu1 地:di4 住:zhu4 建:jian4 设:she4 规:gui1 划:hua4 水:shui3
电:dian4 气:qi4 卫:wei4 生:sheng1 健:jian4 康:kang1 教:jiao4 育:yu4 就:jiu4 创:chuang4
残:can2 疾:ji2 退:tui4 役:yi4 军:jun1 司:si1 法:fa3 安:an1 局:ju2 所:suo3 处:chu4 科:ke1
部:bu4 门:men2 审:shen3 批:pi1 核:he2 签:qian1 章:zhang1 印:yin4 制:zhi4 投:tou2 诉:su4
议:yi4 帮:bang1 代:dai4 邮:you2 寄:ji4 快:kuai4 递:di4 专:zhuan1 网:wang3 线:xian4
特:te4 殊:shu1 女:nv3 士:shi4 小:xiao3 姐:jie3 朋:peng2 友:you3 们:men5 已:yi3 经:jing1
未:wei4 还:hai2 没:mei2 作:zuo4 废:fei4 顺:shun4 延:yan2 稍:shao1 后:hou4 耐:nai4
机:ji1 器:qi4 打:da3 扫:sao3 描:miao2 维:wei2 现:xian4 场:chang3 导:dao3 引:yin3
值:zhi2 班:ban1 主:zhu3 任:ren4 副:fu4 长:chang2 会:hui4 事:shi4 方:fang1 便:bian4
期:qi1 省:sheng3 县:xian4 乡:xiang1 镇:zhen4 街:jie1 村:cun1 城:cheng2 新:xin1 数:shu4
据:ju4 应:ying1 急:ji2 了:le5 为:wei4 要:yao4 间:jian1 时:shi2 分:fen1 钟:zhong1
秒:miao3 今:jin1 天:tian1 明:ming2 午:wu3 早:zao3 晚:wan3 关:guan1 闭:bi4 结:jie2
束:shu4 员:yuan2 须:xu1 知:zhi1 携:xie2 带:dai4 原:yuan2 填:tian2 表:biao3 格:ge2
写:xie3 单:dan1 申:shen1 报:bao4 告:gao4 验:yan4 检:jian3 测:ce4 质:zhi4 量:liang4
价:jia4 资:zi1 职:zhi2 称:cheng1 学:xue2 历:li4 认:ren4 港:gang3 澳:ao4 侨:qiao2 族:zu2
宗:zong1 养:yang3 失:shi1 伤:shang1 险:xian3 障:zhang4 低:di1 贫:pin2 困:kun4 救:jiu4
字:zi4 宜:yi2
信:xin4 击:ji1 刷:shua1 呼:hu1 回:hui2 多:duo1 式:shi4 择:ze2 按:an4 提:ti2 更:geng4
模:mo2 短:duan3 者:zhe3 读:du2 走:zou3 返:fan3 选:xuan3 醒:xing3 需:xu1 面:mian4
页:ye4 首:shou3
"""

# Multi-character words whose reading differs from the per-character default
# (polyphones and 一/不 tone sandhi).  Matched longest first.
_PHRASES: dict[str, str] = {
    "长者": "zhang3 zhe3",
    "重复": "chong2 fu4",
    "重新": "chong2 xin1",
    "银行": "yin2 hang2",
    "处理": "chu3 li3",
    "办事处": "ban4 shi4 chu4",
    "不动产": "bu2 dong4 chan3",
    "不要": "bu2 yao4",
    "不是": "bu2 shi4",
    "不在": "bu2 zai4",
    "不便": "bu2 bian4",
    "一下": "yi2 xia4",
    "一遍": "yi2 bian4",
    "一次": "yi2 ci4",
    "一起": "yi4 qi3",
    "一百": "yi4 bai3",
    "一千": "yi4 qian1",
    "一万": "yi2 wan4",
    "还款": "huan2 kuan3",
    "局长": "ju2 zhang3",
    "科长": "ke1 zhang3",
    "所长": "suo3 zhang3",
    "处长": "chu4 zhang3",
    "部长": "bu4 zhang3",
    "市长": "shi4 zhang3",
    "县长": "xian4 zhang3",
    "镇长": "zhen4 zhang3",
    "村长": "cun1 zhang3",
    "应急": "ying4 ji2",
    "作为": "zuo4 wei2",
    "行长": "hang2 zhang3",
    "便宜": "pian2 yi5",
    "数字": "shu4 zi4",
}

_PINYIN: dict[str, str] = {}
for _pair in _CHARS.split():
    _ch, _py = _pair.split(":")
    _PINYIN[_ch] = _py
del _pair, _ch, _py

_MAX_PHRASE = max(len(p) for p in _PHRASES)

# Punctuation that should become a pause in speech.
_PAUSE = {
    "，": ",",
    "、": ",",
    "；": ",",
    "：": ",",
    ",": ",",
    ";": ",",
    ":": ",",
    "。": ".",
    "！": ".",
    "？": ".",
    ".": ".",
    "!": ".",
    "?": ".",
}

_warned_chars: set[str] = set()
_warned_lock = threading.Lock()


def _warn_unknown(ch: str) -> None:
    with _warned_lock:
        if ch in _warned_chars:
            return
        _warned_chars.add(ch)
    log.warning("voice: no pinyin for %r (U+%04X); skipping it in speech", ch, ord(ch))


def to_pinyin(text: str) -> str:
    """Convert a Chinese call phrase to tone-numbered pinyin for espeak-ng.

    Han characters come from the built-in table (polyphone words first),
    Latin letters are spelled the Chinese way (``A`` -> ``ei1``), stray ASCII
    digits are read one by one, punctuation becomes a pause (``,``/``.``)
    and anything unknown is skipped with a single warning per character.
    The result contains only ``[a-z]+[1-5]`` syllables, spaces, ``,`` and
    ``.``.
    """
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        for size in range(min(_MAX_PHRASE, n - i), 1, -1):
            word = text[i : i + size]
            if word in _PHRASES:
                out.append(_PHRASES[word])
                i += size
                break
        else:
            ch = text[i]
            i += 1
            if ch in _PINYIN:
                out.append(_PINYIN[ch])
            elif ch.isascii() and ch.isalpha():
                out.append(LETTER_PINYIN[ch.upper()])
            elif ch.isascii() and ch.isdigit():
                out.append(_PINYIN[DIGITS[int(ch)]])
            elif ch in _PAUSE:
                if out and out[-1][-1] not in ",.":
                    out[-1] += _PAUSE[ch]
            elif ch.isspace() or (ch.isascii() and not ch.isalnum()):
                continue  # separators such as "-" or "_" in a ticket number
            else:
                _warn_unknown(ch)
    result = " ".join(out)
    return result.rstrip(",.")


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


def _section(n: int) -> str:
    """Spell 0 < n < 10000 (no leading 一十 handling)."""
    units = ("千", "百", "十", "")
    digits = f"{n:04d}"
    out: list[str] = []
    zero = False
    started = False
    for d, unit in zip(digits, units, strict=True):
        if d == "0":
            if started:
                zero = True
            continue
        if zero:
            out.append("零")
            zero = False
        started = True
        if d == "2" and unit == "千":
            out.append("两")
        else:
            out.append(DIGITS[int(d)])
        out.append(unit)
    return "".join(out)


def number_to_chinese(n: int) -> str:
    """Read a non-negative integer as a Chinese number: 3 -> 三, 12 -> 十二,
    20 -> 二十, 21 -> 二十一, 105 -> 一百零五.  Beyond 10^8 - 1 the digits are
    read one by one."""
    if n < 0:
        raise ValueError("negative number")
    if n == 0:
        return "零"
    if n >= 100_000_000:
        return "".join(DIGITS[int(d)] for d in str(n))
    high, low = divmod(n, 10_000)
    if not high:
        return _lead(low)
    text = _lead(high) + "万"
    if low:
        if low < 1000:
            text += "零"
        text += _section(low)
    return text


def _lead(n: int) -> str:
    """A leading section: 一十二 -> 十二 (so 12 -> 十二, 120000 -> 十二万)."""
    text = _section(n)
    return text[1:] if 10 <= n < 20 else text


def _spell_ticket(number: object) -> str:
    """A001 -> A零零一 (letters upper-cased, digits one by one)."""
    out = []
    for ch in str(number).strip():
        if ch.isascii() and ch.isdigit():
            out.append(DIGITS[int(ch)])
        elif ch.isascii() and ch.isalpha():
            out.append(ch.upper())
        else:
            out.append(ch)
    return "".join(out)


def _spell_window(window: object) -> str:
    """3 -> 三, "12" -> 十二, "B2" -> B二 (digit runs read as numbers)."""
    if isinstance(window, int) and not isinstance(window, bool):
        return number_to_chinese(abs(window))
    text = str(window).strip()
    return re.sub(r"[0-9]+", lambda m: number_to_chinese(int(m.group())), text).upper()


def call_text(number: str, window: int | str, template: str = DEFAULT_TEMPLATE) -> str:
    """The Chinese phrase for a call, e.g. ``call_text("A001", 3)`` ->
    ``"请A零零一号到三号窗口办理"``.

    ``template`` may contain ``{number}`` and ``{window}``; other braces are
    left alone (plain replacement, not ``str.format``).
    """
    return template.replace("{number}", _spell_ticket(number)).replace(
        "{window}", _spell_window(window)
    )
