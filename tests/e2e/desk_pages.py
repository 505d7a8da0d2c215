"""Steps the desk's browser tests share: an agent's logged-in desk, a conversation opened."""

from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}


def open_desk(new_context, live, agent, *, locale="zh-CN", viewport=None, path="/desk/"):
    """A page with the agent logged in to the desk, its socket live."""
    page = new_context(
        locale=locale, viewport=viewport or {"width": 1280, "height": 900}
    ).new_page()
    return log_in(page, live, agent, path=path)


def log_in(page, live, agent, *, path="/desk/"):
    """The agent logs in to the desk in this page, which lands on `path` with its socket live."""
    page.goto(f"{live.url}/desk/login/?next={path}")
    page.fill("#id_username", agent.user.username)
    page.fill("#id_password", "lumen-demo")
    page.locator("main.login form:not(.language-switch) button[type=submit]").click()
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
    return page


def open_conversation(page, live, conversation_id):
    page.goto(f"{live.url}/desk/c/{conversation_id}/")
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
