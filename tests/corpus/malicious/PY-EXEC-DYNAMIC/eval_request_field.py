# Attack pattern: action handler that eval()s a field of the request, giving anyone who can call the plugin code execution.
def handle(request):
    expression = request.get("expr", "0")
    return {"result": eval(expression)}
