# Benign look-alike: a module that defines its own eval() (a tiny RPN calculator) and calls it with user input.
def eval(expression: str) -> float:
    stack: list[float] = []
    for token in expression.split():
        if token in "+-*/":
            b, a = stack.pop(), stack.pop()
            stack.append({"+": a + b, "-": a - b, "*": a * b, "/": a / b}[token])
        else:
            stack.append(float(token))
    return stack[-1]


def handle(request):
    return {"result": eval(request["expr"])}
