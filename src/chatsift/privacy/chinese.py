"""Person names in Chinese text: jieba's part-of-speech tags, filtered by what is around them.

Chinese has no capitals and no spaces, so the rules of ``names.py`` see nothing there. jieba's
dictionary plus an HMM for unknown words (``rjieba``: jieba-rs, bundled, offline, 60x faster than the
Python jieba with the same names found on Universal NER's Chinese dev split) tags person names ``nr``
(and transliterated ones ``nrt``/``nrfg``). On its own it is about half right: it also tags places,
titles and ordinary words that start with a surname character ("王子" prince, "温泉" hot spring,
"温哥华"). So a tagged word is kept only when:
- it is two characters or more (a lone "李" is more often something else);
- what follows does not make it a place or a thing ("科奎姆河", "包浩斯学校", "淞沪会战");
- it is not a common word, unless it is shaped like a Chinese name (a surname character and one
  or two more: "孙中山", "蒋介石") or sits in a transliterated full name.
Transliterated full names are joined across their dots ("叶甫根尼·普鲁申科", "威廉‧陆斯佛得") and
adjacent name pieces are merged ("叶甫" + "根尼"), so a name is redacted whole.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from functools import lru_cache

from chatsift.privacy.spans import ScanTimeout, Span

HAN_LANGUAGES = frozenset({"zh"})  # the detected languages whose texts are read for Chinese names
NAME_TAGS = frozenset({"nr", "nrfg", "nrt"})
NAME_DOTS = frozenset("·‧•・")
# Common single-character surnames (the top of the Hundred Family Surnames by population).
SURNAME_CHARS = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = ("司马", "欧阳", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "宇文", "尉迟", "公孙", "司徒",
                     "夏侯", "长孙", "端木", "呼延", "独孤", "西门", "轩辕")
# What, right after a tagged word, makes it a place, a building, a people or a thing named after it.
THING_AFTER = ("市", "县", "省", "州", "郡", "区", "乡", "镇", "村", "城", "堡", "国", "河", "江", "湖", "海", "湾",
               "山", "峰", "岛", "港", "谷", "路", "街", "桥", "站", "门", "楼", "馆", "园", "宫", "寺", "庙", "塔",
               "院", "府", "厅", "部", "族", "人", "语", "文", "式", "纪", "派", "教", "学", "大学", "学校", "公园",
               "广场", "公司", "集团", "会战", "战役", "战场", "战争", "王朝", "帝国", "地区", "平原", "高原", "盆地",
               "沙漠", "山脉", "运动", "主义", "定律", "效应", "奖", "号", "杯", "队", "军", "酒", "牌", "型", "体")
# Characters of transliterated foreign names (阿尔伯特, 普鲁申科, 玛丽埃尔): a run of them around a
# middle dot is a full name ("叶甫根尼·普鲁申科", "贾麦勒·班纳"), however jieba cuts it.
TRANSLIT = (
    "阿埃艾爱安昂奥澳巴拜班邦鲍贝本比彼毕宾波伯勃博布查达黛戴丹道德迪蒂第丁东杜多厄恩尔法范菲斐费芬丰弗福夫盖甘冈戈"
    "格葛贡古瓜哈海汉豪赫黑亨洪胡华怀惠霍基吉加迦贾杰捷金卡凯坎康考柯科克肯库夸奎昆拉莱赖兰朗劳勒雷蕾里理利莉丽"
    "连廉林琳留卢鲁路露伦罗洛吕马玛迈麦曼芒梅美门蒙米密敏明莫默姆穆纳娜奈南内妮尼涅宁纽努诺欧帕潘庞佩彭皮珀普齐"
    "奇契恰乔切钦琴丘屈萨塞赛桑瑟森沙莎山尚绍舍申什施史士舒斯松宋苏索塔泰坦汤唐陶特提廷汀通图托瓦万旺威韦维温文"
    "沃乌伍武西希锡夏谢辛休修雅亚扬耶伊依因英尤于约泽扎詹兹卓佐茨泰娅喀珊琪芙根佛得"
)
_DOTTED = re.compile(f"[{TRANSLIT}]{{1,8}}(?:[{''.join(sorted(NAME_DOTS))}][{TRANSLIT}]{{1,8}})+")
# A tagged word ending so is a building or a place itself ("逸夫楼", "玄武湖", "双吉寺").
PLACE_ENDS = frozenset("楼寺庙宫堡湖河桥站馆园塔院港省市县乡镇村州郡岛路街区")
# A common word (this Zipf frequency and up in wordfreq's Chinese) is no name unless shaped like one.
COMMON_ZIPF = 3.0
_COMMON_FREQ = 10 ** (COMMON_ZIPF - 9)


# A text is tagged in pieces of about this many characters, cut after a sentence's end, so that the
# deadline is checked between them (rjieba cuts 1M characters in about 0.4 s, in one call).
PIECE_CHARS = 20_000
_PIECE_END = re.compile(r"[。！？；\n]")


@lru_cache(maxsize=1)
def chinese_frequencies() -> dict[str, float]:
    """wordfreq's Chinese words at Zipf 3.0 or more (its whole table is let go once this is made)."""
    import wordfreq

    table = wordfreq.get_frequency_dict("zh", wordlist="best")
    common = {w: f for w, f in table.items() if f >= _COMMON_FREQ}
    for cached in (wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    return common



@lru_cache(maxsize=65536)
def _common(run: str) -> bool:
    """Whether a run is a common word, as ``wordfreq.zipf_frequency(run, "zh") >= 3`` reads it (425 of 427
    of the dev split's tagged runs agree) without jieba: a word of its table, or a cut of it into two or
    three such words, whose frequencies combine as wordfreq combines tokens (half-harmonic, divided by 10
    for each space it infers). A piece must then be ten times as common, so the table above suffices."""
    table = chinese_frequencies()
    if run in table:
        return True
    n = len(run)
    for pieces in (2, 3):
        for cuts in itertools.combinations(range(1, n), pieces - 1):
            bounds = (0, *cuts, n)
            freqs = [table.get(run[a:b], 0.0) for a, b in itertools.pairwise(bounds)]
            if all(freqs) and 1 / sum(1 / f for f in freqs) / 10 ** (pieces - 1) >= _COMMON_FREQ:
                return True
    return False


def warm_up() -> None:
    """Load the frequency table and rjieba's dictionary now, outside any message's time budget."""
    import rjieba

    chinese_frequencies()
    rjieba.tag("中文")


def _pieces(text: str) -> Iterator[str]:
    start = 0
    while len(text) - start > PIECE_CHARS:
        cut = _PIECE_END.search(text, start + PIECE_CHARS)
        end = cut.end() if cut is not None and cut.end() < start + 2 * PIECE_CHARS else start + PIECE_CHARS
        yield text[start:end]
        start = end
    yield text[start:]


def _tagged(text: str, deadline: float | None) -> Iterator[tuple[str, str]]:
    import rjieba

    for piece in _pieces(text):
        if deadline is not None and time.perf_counter() > deadline:
            raise ScanTimeout
        yield from rjieba.tag(piece)


def _name_shaped(word: str) -> bool:
    """A Chinese name: a surname (one character or a compound) and one or two given characters."""
    for surname in COMPOUND_SURNAMES:
        if word.startswith(surname) and 3 <= len(word) <= 4:
            return True
    return word[:1] in SURNAME_CHARS and len(word) == 3


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def find_chinese_names(text: str, deadline: float | None = None) -> Iterator[Span]:
    """NAME spans in a Chinese text (Latin-script names in it are the rules' job)."""
    if not any(_is_han(c) for c in text):
        return
    dotted_runs = [(m.start(), m.end()) for m in _DOTTED.finditer(text)]
    kept = list(dotted_runs)
    words: list[tuple[str, str, int]] = []
    pos = 0
    for n, (word, tag) in enumerate(_tagged(text, deadline)):
        if deadline is not None and n % 1024 == 1023 and time.perf_counter() > deadline:
            raise ScanTimeout
        words.append((word, tag, pos))
        pos += len(word)
    i = steps = 0
    while i < len(words):
        steps += 1
        if deadline is not None and steps % 1024 == 0 and time.perf_counter() > deadline:
            raise ScanTimeout
        word, tag, start = words[i]
        if tag not in NAME_TAGS:
            i += 1
            continue
        # Merge adjacent name pieces and dotted transliterations into one run.
        j, dotted = i + 1, False
        while j < len(words):
            nxt, nxt_tag, _ = words[j]
            if nxt in NAME_DOTS and j + 1 < len(words) and all(_is_han(c) for c in words[j + 1][0]):
                j, dotted = j + 2, True
            elif nxt_tag in NAME_TAGS:
                j += 1
            else:
                break
        end = words[j - 1][2] + len(words[j - 1][0])
        run = text[start:end]
        following = text[end:end + 4]
        # A piece jieba cut off a dotted name joins it ("叶甫" + "根尼·普鲁申科").
        if any(s < end and start < e for s, e in dotted_runs) or _keep(run, tag, dotted, following):
            kept.append((start, end))
        i = j
    merged: list[list[int]] = []
    for start, end in sorted(kept):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        yield Span(start, end, "name", text[start:end])


def _keep(run: str, tag: str, dotted: bool, following: str) -> bool:
    """Whether a tagged run is a person (measured on Universal NER's Chinese dev split: jieba's two-character
    ``nr`` words without a surname character, or common as words, are right a third of the time)."""
    if len(run) < 2 or following.startswith(THING_AFTER) or (run[-1] in PLACE_ENDS and not dotted):
        return False
    if dotted or _name_shaped(run):
        return True
    if tag == "nrt":  # a transliterated name jieba knows: 华生, 拉森
        return True
    common = _common(run)
    if len(run) == 2:
        return run[0] in SURNAME_CHARS and not common
    if len(run) == 3:
        return not common
    return run[0] in SURNAME_CHARS
