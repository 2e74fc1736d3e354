from plugyard_scanner.main import main

main()
