"""English and Simplified Chinese: a complete catalogue, compiled, chosen per user."""

import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries() -> dict[str, str]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n")[1:]:
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.M)
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', block, re.M)
        if msgid and msgstr and not block.lstrip().startswith("#~"):
            join = lambda m: "".join(re.findall(r'"(.*)"', m.group(1)))  # noqa: E731
            # a message with a context is kept as gettext keeps it: "context\x04msgid"
            key = (join(context) + "\x04" if context else "") + join(msgid)
            entries[key] = join(msgstr)
    return entries


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = po_entries()
    assert len(entries) > 250
    assert [k for k, v in entries.items() if not v] == []
    assert "#, fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8")


def test_the_compiled_catalogue_matches_the_source():
    with open(LOCALE / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for msgid, msgstr in po_entries().items():
        unescaped = msgid.replace('\\"', '"')
        assert catalogue.gettext(unescaped) == msgstr.replace('\\"', '"'), msgid


def test_placeholders_survive_translation():
    for msgid, msgstr in po_entries().items():
        placeholders = set(re.findall(r"%\(\w+\)s", msgid))
        assert placeholders == set(re.findall(r"%\(\w+\)s", msgstr)), msgid


@pytest.mark.django_db
def test_the_browsers_language_is_picked_on_first_visit(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "登录" in page.content.decode()
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_switching_language_sticks(buyer_client):
    buyer_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/cart/"})
    html = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "购物车" in html and "预览记录" in html
    buyer_client.post(reverse("set_language"), {"language": "en", "next": "/cart/"})
    assert "Cart" in buyer_client.get(reverse("previews:cart")).content.decode()


@pytest.mark.django_db
def test_validation_messages_in_chinese(buyer_client):
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    response = buyer_client.post(reverse("previews:address-create"), {"mobile": "123"})
    assert "请输入中国大陆手机号" in response.content.decode()


@pytest.mark.django_db
def test_a_select_with_no_choice_yet_reads_chinese(buyer_client):
    """Django 6.1's blank choice ("- Select an option -") has no Chinese of its own yet:
    our catalogue gives it one."""
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = buyer_client.get(reverse("previews:line-create")).content.decode()
    assert "Select an option" not in html and "- 请选择 -" in html


@pytest.mark.django_db
def test_the_included_suppliers_read_as_a_chinese_sentence(buyer_client, buyer, make_address):
    from .factories import finished_run

    run = finished_run(buyer, make_address(buyer), suppliers=2, lines=1)
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    assert "计入 2 个供应商：Supplier 0、Supplier 1。" in html
    buyer_client.post(reverse("set_language"), {"language": "en"})
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    assert "2 suppliers included: Supplier 0, Supplier 1." in html
