from h2o_wave import main, app, Q, ui  # noqa: F401 (main is the ASGI app the launcher serves)


@app('/')
async def serve(q: Q):
    q.page['hello'] = ui.markdown_card(box='1 1 3 3', title='Hello', content='Hello from the app store')
    await q.page.save()
