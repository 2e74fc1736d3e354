from plugyard_gateway.main import main

main()
